/*
 * bench_client.h: what the TLS clients of tests/bench, psk_hs and tls_hs,
 * share: clocks, the CPU use of the client and of the server under test,
 * and the MQTT CONNECT they send; mqtt_bench uses the clocks and CPU
 * time.  Compiled into each of them by the script that builds it
 * (tests/bench/lib.sh, bench_cc).
 */
#ifndef BENCH_CLIENT_H
#define BENCH_CLIENT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* bench_client.c */
double		 bench_now_s(void);
void		 bench_sleep_s(double);
double		 bench_self_cpu_s(void);
unsigned long long bench_proc_ticks(const pid_t *, int);
void		 bench_print_cpu(bool, unsigned long long, double, double);
size_t		 bench_mqtt_connect(uint8_t *, size_t, char, unsigned,
		    unsigned long);

#endif /* BENCH_CLIENT_H */
