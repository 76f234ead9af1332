/*
 * mqtt_bench_scenarios.h: the measurements of tests/bench/mqtt_bench, each
 * printing its one line of key=value pairs; main (mqtt_bench.c) picks one.
 */
#ifndef MQTT_BENCH_SCENARIOS_H
#define MQTT_BENCH_SCENARIOS_H

/* mqtt_bench_msgs.c */
int		 mode_tput(void);
int		 mode_latency(void);
/* mqtt_bench_conns.c */
int		 mode_handshake(void);
int		 mode_idle(void);

#endif /* MQTT_BENCH_SCENARIOS_H */
