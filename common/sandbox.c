/*
 * sandbox.c: privilege drop, seccomp filter and Landlock network rules,
 * shared by both daemons; each step fails closed.
 *
 * The seccomp filter allows by default and denies (EPERM) a list of
 * system calls neither daemon needs, plus socket(2) with a family that is
 * not the role's.  An allow-list would have to follow every system call
 * that glibc, libevent, OpenSSL, nng and libcurl make, and those change
 * with every library version: a missed one breaks the daemon in the field
 * (EPERM in a thread of nng or in curl's resolver), which is the failure
 * that makes people switch sandboxes off.  What matters here is small and
 * stable: no new program (execve), no other process (ptrace), no new
 * internet socket in the broker, no namespace, mount, module or clock
 * games in either.  systemd's SystemCallFilter=@system-service in the
 * units is the coarse allow-list on top.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "ipc_proto.h"
#include "log.h"
#include "sandbox.h"

/*
 * LeakSanitizer stops the world at exit with a ptrace-ing helper; in an
 * ASan build ptrace stays allowed, and the daemon says so.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER	1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER	0
#endif

/* Landlock's network rules (ABI 4, Linux 6.7); older headers lack them. */
#define SANDBOX_LL_NET_ABI	4
#define SANDBOX_LL_BIND_TCP	(1ULL << 0)
#define SANDBOX_LL_CONNECT_TCP	(1ULL << 1)
/* LANDLOCK_CREATE_RULESET_VERSION */
#define SANDBOX_LL_VERSION	(1U << 0)

struct sandbox_ll_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;
};

/* Denied to both daemons with EPERM. */
static const char *const sandbox_denied[] = {
	/* running another program */
	"execve", "execveat",
	/* reading or steering another process (see SANDBOX_SANITIZER) */
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	"pidfd_getfd",
	/* identity: dropped once, never changed again */
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
	"setgroups", "setfsuid", "setfsgid", "capset",
	/* namespaces, mounts and roots */
	"unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
	"mount_setattr",
	/* the kernel and the machine */
	"reboot", "kexec_load", "kexec_file_load", "init_module",
	"finit_module", "delete_module", "swapon", "swapoff", "acct",
	"quotactl", "syslog", "iopl", "ioperm", "settimeofday",
	"clock_settime", "clock_adjtime", "adjtimex", "sethostname",
	"setdomainname", "vhangup", "uselib", "personality",
	/* kernel attack surface neither daemon uses */
	"bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key",
	"request_key", "open_by_handle_at", "name_to_handle_at",
	"fanotify_init", "lookup_dcookie", "migrate_pages", "move_pages",
	/* io_uring would make socket and connect calls seccomp never sees */
	"io_uring_setup", "io_uring_enter", "io_uring_register",
};

/* clone(2) flags that make a namespace; clone3 cannot be inspected. */
static const unsigned long sandbox_clone_ns[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

bool
sandbox_enabled(const struct conf *conf)
{
	return conf_bool(conf->root, "node.sandbox");
}

static const char *
sandbox_user_key(enum sandbox_role role)
{
	return role == SANDBOX_BROKER ? "node.user" : "node.fetcher_user";
}

static bool
sandbox_is_root(void)
{
	return getuid() == 0 || geteuid() == 0;
}

int
priv_sandbox_ids(const struct conf *conf, enum sandbox_role role,
    struct sandbox_ids *ids)
{
	const char *ukey = sandbox_user_key(role);
	struct passwd *pw;
	struct group *gr;

	ids->user = conf_str(conf->root, ukey);
	ids->group = conf_str(conf->root, "node.group");
	errno = 0;
	if ((pw = getpwnam(ids->user)) == NULL) {
		log_err("%s: no user \"%s\"%s%s (create it, e.g. with "
		    "systemd-sysusers staplemq.conf)", ukey, ids->user,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	ids->uid = pw->pw_uid;
	errno = 0;
	if ((gr = getgrnam(ids->group)) == NULL) {
		log_err("node.group: no group \"%s\"%s%s", ids->group,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	ids->gid = gr->gr_gid;
	if (ids->uid == 0 || ids->gid == 0) {
		log_err("%s = \"%s\", node.group = \"%s\": the daemon never "
		    "runs as root with its sandbox on; name a user and a "
		    "group of its own", ukey, ids->user, ids->group);
		return -1;
	}
	return 0;
}

/*
 * Does the directory hold nothing but what staplemq puts there (or
 * nothing)?  A runtime_dir or data_dir of "/var/lib" by mistake must not
 * give a directory of the system away.
 */
static bool
priv_sandbox_ours(int fd)
{
	struct dirent *de;
	const char *n;
	bool ours = true;
	size_t len;
	DIR *dp;
	int dfd;

	if ((dfd = dup(fd)) == -1)
		return false;
	if ((dp = fdopendir(dfd)) == NULL) {
		close(dfd);
		return false;
	}
	while (ours && (de = readdir(dp)) != NULL) {
		n = de->d_name;
		len = strlen(n);
		ours = strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
		    strcmp(n, SNAP_FILE) == 0 || strncmp(n, ".snapshot.",
		    10) == 0 || strcmp(n, IPC_NOTIFY_SOCK) == 0 ||
		    strcmp(n, IPC_REQUEST_SOCK) == 0 ||
		    (len > 5 && strcmp(n + len - 5, ".sock") == 0);
	}
	closedir(dp);
	return ours;
}

int
priv_sandbox_chown(const struct conf *conf, enum sandbox_role role,
    const char *path)
{
	struct sandbox_ids ids;
	struct stat st;
	int fd, rc = -1;

	if (!sandbox_enabled(conf) || !sandbox_is_root())
		return 0;
	if (priv_sandbox_ids(conf, role, &ids) == -1)
		return -1;
	/* Not through a symbolic link someone else may have put there. */
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		log_warn("%s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("%s", path);
		goto done;
	}
	if ((st.st_uid != ids.uid || st.st_gid != ids.gid) &&
	    !priv_sandbox_ours(fd)) {
		log_err("%s holds files that are not staplemq's: not giving it "
		    "to %s:%s; name a directory of its own, or chown it "
		    "yourself", path, ids.user, ids.group);
		goto done;
	}
	if (fchown(fd, ids.uid, ids.gid) == -1 || fchmod(fd, 0750) == -1) {
		log_warn("%s: give to %s:%s, mode 0750", path, ids.user,
		    ids.group);
		goto done;
	}
	rc = 0;
done:
	close(fd);
	return rc;
}

/*
 * setgroups, setgid, setuid, then check that each one stuck and that
 * root cannot be had back: a half-dropped process must not run.
 */
static int
priv_sandbox_drop(const struct sandbox_ids *ids)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[8];
	int n;

	if (setgroups(1, &ids->gid) == -1) {
		log_warn("setgroups %s", ids->group);
		return -1;
	}
	if (setresgid(ids->gid, ids->gid, ids->gid) == -1) {
		log_warn("setresgid %s", ids->group);
		return -1;
	}
	if (setresuid(ids->uid, ids->uid, ids->uid) == -1) {
		log_warn("setresuid %s", ids->user);
		return -1;
	}
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1) {
		log_warn("getresuid");
		return -1;
	}
	if (ru != ids->uid || eu != ids->uid || su != ids->uid ||
	    rg != ids->gid || eg != ids->gid || sg != ids->gid) {
		log_err("the user or group change did not stick (uid %u %u "
		    "%u, gid %u %u %u)", (unsigned)ru, (unsigned)eu,
		    (unsigned)su, (unsigned)rg, (unsigned)eg, (unsigned)sg);
		return -1;
	}
	if ((n = getgroups(NITEMS(groups), groups)) == -1 || n > 1 ||
	    (n == 1 && groups[0] != ids->gid)) {
		log_err("supplementary groups were not dropped");
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1) {
		log_err("root could be regained after the drop");
		return -1;
	}
	return 0;
}

static int
sandbox_rule(scmp_filter_ctx ctx, uint32_t action, const char *name,
    unsigned nargs, const struct scmp_arg_cmp *args)
{
	int nr, rv;

	/* A name this libseccomp does not know is not on this kernel. */
	if ((nr = seccomp_syscall_resolve_name(name)) == __NR_SCMP_ERROR) {
		log_debug("%s: unknown to libseccomp, not filtered", name);
		return 0;
	}
	if ((rv = seccomp_rule_add_array(ctx, action, nr, nargs,
	    args)) != 0) {
		log_err("seccomp rule for %s: %s", name, strerror(-rv));
		return -1;
	}
	return 0;
}

/* socket(2) and socketpair(2) only for the families in allowed. */
static int
sandbox_families(scmp_filter_ctx ctx, const int *allowed, size_t n)
{
	static const char *const calls[] = { "socket", "socketpair" };
	struct scmp_arg_cmp cmp;
	size_t c, i;
	int af;

	for (c = 0; c < NITEMS(calls); c++) {
		/* Rules on one argument cannot be ANDed: deny the rest. */
		for (af = 0; af < AF_MAX; af++) {
			for (i = 0; i < n; i++)
				if (allowed[i] == af)
					break;
			if (i < n)
				continue;
			cmp = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)af);
			if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), calls[c],
			    1, &cmp) == -1)
				return -1;
		}
		/* Families newer than these headers, and garbage. */
		cmp = SCMP_A0(SCMP_CMP_GE, (scmp_datum_t)AF_MAX);
		if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), calls[c], 1,
		    &cmp) == -1)
			return -1;
	}
	return 0;
}

/*
 * The broker holds accepted TCP sockets.  TCP Fast Open would turn a
 * send on one of them into a connection elsewhere: refuse its flag and
 * its socket option.  (connect(AF_UNSPEC) then connect() is the other
 * way; seccomp cannot see the address, Landlock can: sandbox_early.)
 */
static int
sandbox_no_fastopen(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp cmp[2];

	cmp[0] = SCMP_A3(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN);
	if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), "sendto", 1, cmp) == -1 ||
	    sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), "sendmmsg", 1, cmp) == -1)
		return -1;
	cmp[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN);
	if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), "sendmsg", 1, cmp) == -1)
		return -1;
	cmp[0] = SCMP_A1(SCMP_CMP_EQ, IPPROTO_TCP);
	cmp[1] = SCMP_A2(SCMP_CMP_EQ, TCP_FASTOPEN_CONNECT);
	return sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), "setsockopt", 2, cmp);
}

int
sandbox_seccomp(enum sandbox_role role)
{
	static const int broker_af[] = { AF_UNIX };
	static const int fetcherd_af[] = { AF_UNIX, AF_INET, AF_INET6 };
	scmp_filter_ctx ctx;
	struct scmp_arg_cmp cmp;
	size_t i;
	int rv, rc = -1;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		log_err("seccomp_init failed");
		return -1;
	}
	/*
	 * Every thread (nng's are running), another architecture's system
	 * call numbers kill the process, and no_new_privs.
	 */
	if ((rv = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0 ||
	    (rv = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) != 0 ||
	    (rv = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) != 0) {
		log_err("seccomp attributes: %s", strerror(-rv));
		goto done;
	}
	for (i = 0; i < NITEMS(sandbox_denied); i++) {
		if (SANDBOX_SANITIZER && strcmp(sandbox_denied[i],
		    "ptrace") == 0)
			continue;
		if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), sandbox_denied[i],
		    0, NULL) == -1)
			goto done;
	}
	for (i = 0; i < NITEMS(sandbox_clone_ns); i++) {
		cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, sandbox_clone_ns[i],
		    sandbox_clone_ns[i]);
		if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1,
		    &cmp) == -1)
			goto done;
	}
	/* ENOSYS, not EPERM: glibc's pthread_create falls back to clone. */
	if (sandbox_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL) == -1)
		goto done;
	if (role == SANDBOX_BROKER) {
		if (sandbox_families(ctx, broker_af, NITEMS(broker_af)) == -1 ||
		    sandbox_no_fastopen(ctx) == -1)
			goto done;
	} else if (sandbox_families(ctx, fetcherd_af,
	    NITEMS(fetcherd_af)) == -1)
		goto done;
	if ((rv = seccomp_load(ctx)) != 0) {
		log_err("seccomp_load: %s", strerror(-rv));
		goto done;
	}
	rc = 0;
done:
	seccomp_release(ctx);
	return rc;
}

int
sandbox_early(const struct conf *conf, enum sandbox_role role)
{
#if defined(SYS_landlock_create_ruleset) && defined(SYS_landlock_restrict_self)
	struct sandbox_ll_attr attr;
	const char *what;
	long abi;
	int fd;

	if (!sandbox_enabled(conf))
		return 0;
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    SANDBOX_LL_VERSION);
	if (abi < SANDBOX_LL_NET_ABI) {
		log_info("landlock network rules unavailable (%s); the "
		    "seccomp filter alone applies", abi < 0 ? strerror(errno) :
		    "kernel older than 6.7");
		return 0;
	}
	memset(&attr, 0, sizeof(attr));
	/* Handled and never granted: the access is denied, to every port. */
	if (role == SANDBOX_BROKER) {
		attr.handled_access_net = SANDBOX_LL_CONNECT_TCP;
		what = "TCP connect";
	} else {
		attr.handled_access_net = SANDBOX_LL_BIND_TCP;
		what = "TCP bind";
	}
	if ((fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr),
	    0)) == -1) {
		log_warn("landlock_create_ruleset");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    syscall(SYS_landlock_restrict_self, fd, 0) == -1) {
		log_warn("landlock_restrict_self");
		close(fd);
		return -1;
	}
	close(fd);
	log_info("landlock: %s denied", what);
	return 0;
#else
	(void)role;
	if (sandbox_enabled(conf))
		log_info("landlock unavailable at build time; the seccomp "
		    "filter alone applies");
	return 0;
#endif
}

#ifdef STAPLEMQ_TEST_HOOKS
/*
 * Test hooks, run only when their environment variable is set: they try
 * what the sandbox forbids and log the outcome for the integration tests.
 * STAPLEMQ_TEST_SANDBOX_CONNECT=ADDR:PORT (IPv4) opens a TCP connection,
 * and also disconnects a listening TCP socket made before the sandbox
 * (what an already-open listener is) and connects it.
 * STAPLEMQ_TEST_SANDBOX_EXEC=PATH executes PATH.
 */
static int
sandbox_test_addr(const char *text, struct sockaddr_in *sin)
{
	char host[INET_ADDRSTRLEN];
	const char *colon;

	memset(sin, 0, sizeof(*sin));
	if ((colon = strrchr(text, ':')) == NULL ||
	    (size_t)(colon - text) >= sizeof(host))
		return -1;
	memcpy(host, text, colon - text);
	host[colon - text] = '\0';
	sin->sin_family = AF_INET;
	sin->sin_port = htons(atoi(colon + 1));
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

static int
sandbox_test_prepare(void)
{
	struct sockaddr_in sin;
	int fd;

	if (getenv("STAPLEMQ_TEST_SANDBOX_CONNECT") == NULL)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 1) == -1) {
		log_warn("sandbox test: spare listener");
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static void
sandbox_test_run(int spare)
{
	extern char **environ;
	struct sockaddr_in sin;
	struct sockaddr sa_unspec;
	char *argv[2];
	const char *v;
	int fd;

	if ((v = getenv("STAPLEMQ_TEST_SANDBOX_CONNECT")) != NULL) {
		if (sandbox_test_addr(v, &sin) == -1)
			log_warnx("sandbox test: %s is no ADDR:PORT", v);
		else if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) == -1)
			log_notice("sandbox test: connect %s: %s", v,
			    strerror(errno));
		else {
			if (connect(fd, (struct sockaddr *)&sin,
			    sizeof(sin)) == -1)
				log_notice("sandbox test: connect %s: %s", v,
				    strerror(errno));
			else
				log_notice("sandbox test: connect %s: "
				    "connected", v);
			close(fd);
		}
		if (spare != -1) {
			memset(&sa_unspec, 0, sizeof(sa_unspec));
			sa_unspec.sa_family = AF_UNSPEC;
			(void)connect(spare, &sa_unspec, sizeof(sa_unspec));
			if (connect(spare, (struct sockaddr *)&sin,
			    sizeof(sin)) == -1)
				log_notice("sandbox test: reconnect a "
				    "listener to %s: %s", v, strerror(errno));
			else
				log_notice("sandbox test: reconnect a "
				    "listener to %s: connected", v);
			close(spare);
		}
	}
	if ((v = getenv("STAPLEMQ_TEST_SANDBOX_EXEC")) != NULL) {
		argv[0] = (char *)v;
		argv[1] = NULL;
		execve(v, argv, environ);
		log_notice("sandbox test: execve %s: %s", v, strerror(errno));
	}
}
#endif /* STAPLEMQ_TEST_HOOKS */

int
sandbox_enter(const struct conf *conf, enum sandbox_role role)
{
	struct sandbox_ids ids;
	int spare = -1;

	if (!sandbox_enabled(conf)) {
		log_err("node.sandbox = false: running WITHOUT the sandbox "
		    "(no seccomp filter, no change of user%s); for "
		    "debugging only", sandbox_is_root() ? ", AS ROOT" : "");
		return 0;
	}
#ifdef STAPLEMQ_TEST_HOOKS
	spare = sandbox_test_prepare();
#endif
	if (sandbox_is_root()) {
		if (priv_sandbox_ids(conf, role, &ids) == -1 ||
		    priv_sandbox_drop(&ids) == -1)
			goto fail;
		log_info("running as user %s (uid %u), group %s (gid %u)",
		    ids.user, (unsigned)ids.uid, ids.group, (unsigned)ids.gid);
	} else
		log_info("not started as root: running as uid %u, gid %u",
		    (unsigned)getuid(), (unsigned)getgid());
	if (sandbox_seccomp(role) == -1)
		goto fail;
	if (SANDBOX_SANITIZER)
		log_warnx("sanitizer build: ptrace stays allowed for the "
		    "leak checker");
	log_info("seccomp filter installed: %s",
	    role == SANDBOX_BROKER ? "no execve, no ptrace, new sockets "
	    "AF_UNIX only" : "no execve, no ptrace, new sockets AF_UNIX, "
	    "AF_INET, AF_INET6");
#ifdef STAPLEMQ_TEST_HOOKS
	sandbox_test_run(spare);
#endif
	return 0;
fail:
	if (spare != -1)
		close(spare);
	return -1;
}
