/*
 * passwd_main.c: staplemq-passwd, which adds, replaces and deletes users
 * in the broker's password file.
 *
 * The password is the first line of standard input, so that scripts can
 * pipe it in; nothing is echoed or prompted.  The file is rewritten as a
 * whole into a temporary file in the same directory (mode 0600, synced)
 * that is renamed over it, so the broker never reads half a file.  Lines
 * the tool does not touch, comments included, are copied as they are.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"
#include "passwd.h"

/* What to do to which user of which file. */
struct pw_job {
	const char	*path;
	const char	*user;
	bool		 create;	/* -c: ignore what the file holds */
	bool		 delete;	/* -D */
	unsigned	 iter;
	char		*entry;		/* "user:hash\n" to write, if adding */
};

/* The new file's text, built in memory. */
struct pw_out {
	FILE		*fp;		/* open_memstream */
	char		*buf;
	size_t		 len;
};

static void	pw_usage(void) __attribute__((noreturn));
static int	pw_iter_parse(const char *, unsigned *);
static int	pw_read_password(struct pw_job *);
static int	pw_rewrite(const struct pw_job *, FILE *, FILE *);
static int	pw_build(const struct pw_job *, struct pw_out *,
		    struct stat *, bool *);
static int	pw_sync_dir(const char *);
static int	pw_install(const struct pw_job *, const struct pw_out *,
		    const struct stat *);

static void
pw_usage(void)
{
	fprintf(stderr, "usage: staplemq-passwd [-c] [-D] [-i iterations] "
	    "file username\n");
	exit(1);
}

static int
pw_iter_parse(const char *s, unsigned *iter)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < PASSWD_ITER_MIN || v > PASSWD_ITER_MAX) {
		warnx("iterations must be a number in %u..%u",
		    PASSWD_ITER_MIN, PASSWD_ITER_MAX);
		return -1;
	}
	*iter = (unsigned)v;
	return 0;
}

/* Read the first line of stdin and hash it into job->entry. */
static int
pw_read_password(struct pw_job *job)
{
	char	*line = NULL, hash[PASSWD_HASH_BUFSZ];
	size_t	 cap = 0, len;
	ssize_t	 n;
	int	 rc = -1;

	if ((n = getline(&line, &cap, stdin)) == -1) {
		if (ferror(stdin))
			warn("standard input");
		else
			warnx("no password on standard input");
		goto done;
	}
	len = (size_t)n;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0) {
		warnx("empty password");
		goto done;
	}
	if (passwd_hash((const uint8_t *)line, len, job->iter, hash,
	    sizeof(hash)) == -1)
		goto done;
	xasprintf(&job->entry, "%s:%s\n", job->user, hash);
	rc = 0;
 done:
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	explicit_bzero(hash, sizeof(hash));
	return rc;
}

/*
 * Copy in to out, replacing the user's first entry with job->entry (or
 * dropping it for -D) and dropping any later ones, which passwd_load()
 * would refuse as duplicates.  Returns how many entries matched, or -1.
 */
static int
pw_rewrite(const struct pw_job *job, FILE *in, FILE *out)
{
	const char	*user;
	char		*line = NULL;
	size_t		 cap = 0, ulen, want = strlen(job->user);
	ssize_t		 n;
	int		 found = 0;

	while ((n = getline(&line, &cap, in)) != -1) {
		user = passwd_line_user(line, &ulen);
		if (user == NULL || ulen != want ||
		    memcmp(user, job->user, want) != 0) {
			fwrite(line, 1, (size_t)n, out);
			/* A last line without its newline gets one. */
			if (line[n - 1] != '\n')
				fputc('\n', out);
			continue;
		}
		if (found++ == 0 && !job->delete)
			fputs(job->entry, out);
	}
	if (ferror(in)) {
		warn("%s", job->path);
		found = -1;
	}
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	return found;
}

/*
 * Build the new file in out.  *old gets the existing file's stat and
 * *existed whether there was one.  Returns 0 or -1 after a message.
 */
static int
pw_build(const struct pw_job *job, struct pw_out *out, struct stat *old,
    bool *existed)
{
	FILE	*in;
	int	 found = 0;

	*existed = false;
	if ((out->fp = open_memstream(&out->buf, &out->len)) == NULL) {
		warn("open_memstream");
		return -1;
	}
	if (!job->create) {
		if ((in = fopen(job->path, "r")) == NULL) {
			if (errno == ENOENT)
				warnx("%s: no such file (use -c to create "
				    "it)", job->path);
			else
				warn("%s", job->path);
			return -1;
		}
		*existed = fstat(fileno(in), old) == 0;
		found = pw_rewrite(job, in, out->fp);
		fclose(in);
		if (found == -1)
			return -1;
	}
	if (job->delete && found == 0) {
		warnx("%s: no user \"%s\"", job->path, job->user);
		return -1;
	}
	if (!job->delete && found == 0)
		fputs(job->entry, out->fp);
	if (fclose(out->fp) != 0) {
		out->fp = NULL;
		warn("open_memstream");
		return -1;
	}
	out->fp = NULL;
	return 0;
}

/* Make the rename durable: sync the directory holding path. */
static int
pw_sync_dir(const char *path)
{
	char	*copy;
	int	 fd, rc = -1;

	copy = xstrdup(path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY)) == -1)
		warn("%s", copy);
	else if (fsync(fd) == -1)
		warn("fsync %s", copy);
	else
		rc = 0;
	if (fd != -1)
		close(fd);
	free(copy);
	return rc;
}

/*
 * Write out to a temporary file next to job->path and rename it over
 * job->path.  The new file keeps the old one's owner where we may set it
 * (root editing a file the broker reads as its own user).
 */
static int
pw_install(const struct pw_job *job, const struct pw_out *out,
    const struct stat *old)
{
	char	*tmp;
	int	 fd, rc = -1;

	xasprintf(&tmp, "%s.XXXXXX", job->path);
	if ((fd = mkstemp(tmp)) == -1) {
		warn("%s", tmp);
		free(tmp);
		return -1;
	}
	if (fchmod(fd, S_IRUSR | S_IWUSR) == -1) {
		warn("fchmod %s", tmp);
		goto fail;
	}
	if (old != NULL && (old->st_uid != geteuid() ||
	    old->st_gid != getegid()) &&
	    fchown(fd, old->st_uid, old->st_gid) == -1)
		warn("%s: cannot keep owner %u:%u", job->path,
		    (unsigned)old->st_uid, (unsigned)old->st_gid);
	if (write(fd, out->buf, out->len) != (ssize_t)out->len) {
		warn("write %s", tmp);
		goto fail;
	}
	if (fsync(fd) == -1) {
		warn("fsync %s", tmp);
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		warn("close %s", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, job->path) == -1) {
		warn("rename %s to %s", tmp, job->path);
		goto fail;
	}
	rc = pw_sync_dir(job->path);
	free(tmp);
	return rc;
 fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

int
main(int argc, char *argv[])
{
	struct pw_job	 job;
	struct pw_out	 out;
	struct stat	 old;
	bool		 existed;
	int		 ch, rc = 1;

	log_init("staplemq-passwd", LOG_LVL_WARNING, false);
	memset(&job, 0, sizeof(job));
	memset(&out, 0, sizeof(out));
	job.iter = PASSWD_ITER_DEFAULT;
	while ((ch = getopt(argc, argv, "cDi:")) != -1) {
		switch (ch) {
		case 'c':
			job.create = true;
			break;
		case 'D':
			job.delete = true;
			break;
		case 'i':
			if (pw_iter_parse(optarg, &job.iter) == -1)
				exit(1);
			break;
		default:
			pw_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || (job.create && job.delete))
		pw_usage();
	job.path = argv[0];
	job.user = argv[1];
	if (!passwd_user_valid(job.user))
		errx(1, "invalid user name \"%s\": it must be 1 to %u bytes "
		    "without \":\" or control characters, must not start "
		    "with \"#\" and must not start or end with a space",
		    job.user, PASSWD_USER_MAX);

	if (!job.delete && pw_read_password(&job) == -1)
		goto done;
	if (pw_build(&job, &out, &old, &existed) == -1)
		goto done;
	if (existed && (old.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		warnx("%s: was mode %04o, now 0600", job.path,
		    (unsigned)(old.st_mode & 07777));
	if (pw_install(&job, &out, existed ? &old : NULL) == -1)
		goto done;
	rc = 0;
 done:
	if (out.fp != NULL)
		fclose(out.fp);
	if (out.buf != NULL)
		explicit_bzero(out.buf, out.len);
	free(out.buf);
	if (job.entry != NULL)
		explicit_bzero(job.entry, strlen(job.entry));
	free(job.entry);
	return rc;
}
