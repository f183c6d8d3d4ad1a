/*
 * gw_config_scan: the lexical pre-pass described in config_scan.h. It
 * tokenises just enough of libconfig's grammar (comments, strings, names,
 * numbers, @include at the start of a line) to find the literals libconfig
 * 1.5 would corrupt and the includes that would kill the process.
 */
#include "config_scan.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fatal(struct gw_scan *s, const char *file, unsigned line,
		  const char *fmt, const char *a, const char *b)
{
	char msg[2 * PATH_MAX + 256];

	snprintf(msg, sizeof(msg), fmt, a, b ? b : "");
	s->fatal++;
	if (s->report)
		s->report(s->user, file, line, msg);
}

/*
 * Read the regular file @path whole, and tell which file it was in @st.
 * O_NONBLOCK so that opening a FIFO cannot hang a reload; the type is
 * checked on the open descriptor.
 * Returns 0, -EISDIR/-EINVAL (not a regular file), -EFBIG or -errno.
 */
static int read_whole(const char *path, char **out, size_t *len,
		      struct stat *stp)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if (st.st_size > GW_CONFIG_SCAN_MAX_SIZE) {
		rc = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0 || (n += (size_t)r) == (size_t)st.st_size)
			break;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	*stp = st;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

static int add_note(struct gw_scan *s, enum gw_scan_note_kind kind,
		    const char *file, unsigned line, const char *name,
		    size_t name_len, const char *text, size_t text_len)
{
	struct gw_scan_note *n;

	if (s->n_notes == s->cap_notes) {
		size_t cap = s->cap_notes ? s->cap_notes * 2 : 8;
		void *p = realloc(s->notes, cap * sizeof(*s->notes));

		if (!p)
			return -ENOMEM;
		s->notes = p;
		s->cap_notes = cap;
	}
	n = &s->notes[s->n_notes];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = line;
	n->file = strdup(file);
	n->name = strndup(name ? name : "", name ? name_len : 0);
	n->text = strndup(text ? text : "", text ? text_len : 0);
	if (!n->file || !n->name || !n->text) {
		free(n->file);
		free(n->name);
		free(n->text);
		return -ENOMEM;
	}
	s->n_notes++;
	return 0;
}

static bool is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Would libconfig 1.5 store the integer literal @t (@len bytes) wrongly?
 * It converts plain decimals with atoi() into an int, hex with strtoul()
 * into an int, and L-suffixed ones with atoll()/strtoull() into an int64.
 */
static bool int_wraps(const char *t, size_t len)
{
	char buf[128];
	bool l64 = false, hex;
	char *end;

	while (len > 0 && (t[len - 1] == 'L' || t[len - 1] == 'l')) {
		l64 = true;
		len--;
	}
	if (len == 0 || len >= sizeof(buf))
		return len != 0;
	memcpy(buf, t, len);
	buf[len] = '\0';
	hex = len > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X');
	errno = 0;
	if (hex) {
		unsigned long long v = strtoull(buf, &end, 16);

		if (errno == ERANGE)
			return true;
		return l64 ? v > (unsigned long long)INT64_MAX
			   : v > (unsigned long long)INT32_MAX;
	}
	long long v = strtoll(buf, &end, 10);
	if (errno == ERANGE)
		return true;
	return !l64 && (v > INT32_MAX || v < INT32_MIN);
}

static int scan_text(struct gw_scan *s, const char *text, size_t size,
		     const char *as_file, int depth);

/*
 * Handle `@include "name"` whose name starts at @p (after the quote).
 * Returns the position after the closing quote.
 */
static const char *do_include(struct gw_scan *s, const char *p, const char *end,
			      const char *as_file, unsigned line, int depth,
			      int *rc)
{
	char name[PATH_MAX];
	size_t n = 0;
	char *full = NULL;

	/* libconfig's include state knows only \\ and \" as escapes. */
	while (p < end && *p != '"' && *p != '\n') {
		char c = *p++;

		if (c == '\\' && p < end && (*p == '\\' || *p == '"'))
			c = *p++;
		if (n + 1 < sizeof(name))
			name[n++] = c;
	}
	name[n] = '\0';
	if (p >= end || *p != '"')
		return p; /* unterminated: libconfig reports a syntax error */
	p++;
	if (n == 0) {
		fatal(s, as_file, line, "@include \"\": empty file name", "",
		      NULL);
		return p;
	}
	if (name[0] == '/') {
		/*
		 * libconfig prefixes the include directory even to absolute
		 * names, so they can never be opened: say why.
		 */
		fatal(s, as_file, line,
		      "@include \"%s\": must be relative to the config's "
		      "directory %s",
		      name, s->dir);
		return p;
	}
	if (depth + 1 > GW_CONFIG_SCAN_MAX_DEPTH) {
		fatal(s, as_file, line,
		      "@include \"%s\": includes nested more than 10 deep",
		      name, NULL);
		return p;
	}
	if (s->includes++ >= GW_CONFIG_SCAN_MAX_INCLUDES) {
		/* said once; the rest are not read */
		if (s->includes == GW_CONFIG_SCAN_MAX_INCLUDES + 1)
			fatal(s, as_file, line,
			      "@include \"%s\": more than 100 @includes in all",
			      name, NULL);
		return p;
	}
	if (asprintf(&full, "%s/%s", s->dir, name) < 0) {
		*rc = -ENOMEM;
		return p;
	}
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int r = read_whole(full, &buf, &len, &st);
	if (r == -ENOMEM) {
		*rc = r;
	} else if (r == -EISDIR) {
		fatal(s, as_file, line, "@include \"%s\": %s is a directory",
		      name, full);
	} else if (r == -EINVAL) {
		fatal(s, as_file, line,
		      "@include \"%s\": %s is not a regular file", name, full);
	} else if (r == -EFBIG) {
		fatal(s, as_file, line, "@include \"%s\": %s is too large",
		      name, full);
	} else if (r < 0) {
		char why[PATH_MAX + 128];

		snprintf(why, sizeof(why), "%s: %s", full, strerror(-r));
		fatal(s, as_file, line, "@include \"%s\": %s", name, why);
	}
	for (int i = 0; r == 0 && i <= depth; i++) {
		if (s->open[i].dev == st.st_dev &&
		    s->open[i].ino == st.st_ino) {
			fatal(s, as_file, line,
			      "@include \"%s\": %s includes itself (a loop)",
			      name, full);
			r = -ELOOP;
		}
	}
	if (r == 0) {
		s->open[depth + 1].dev = st.st_dev;
		s->open[depth + 1].ino = st.st_ino;
		/* libconfig names included settings' file as written. */
		r = scan_text(s, buf, len, name, depth + 1);
		if (r < 0)
			*rc = r;
	}
	free(buf);
	free(full);
	return p;
}

static int scan_text(struct gw_scan *s, const char *text, size_t size,
		     const char *as_file, int depth)
{
	const char *p = text, *end = text + size;
	unsigned line = 1;
	bool line_start = true;
	/* the last name followed by '=' or ':' */
	const char *key = NULL, *cand = NULL;
	size_t key_len = 0, cand_len = 0;
	int rc = 0;
	const char *raw_nul = memchr(text, '\0', size);

	/*
	 * libconfig's scanner reads a NUL byte as the end of the text: a path
	 * after @include would open something other than what we checked
	 * (the fuzzer found "sub\0..." reaching a directory, and the exit
	 * that comes with it). A config file is text: refuse it whole.
	 */
	if (raw_nul) {
		for (const char *q = text; q < raw_nul; q++)
			line += *q == '\n';
		fatal(s, as_file, line, "contains a NUL byte: not a text file",
		      "", NULL);
		return 0;
	}
	while (p < end && rc == 0) {
		char c = *p;

		if (c == '\n') {
			line++;
			line_start = true;
			p++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
			p++;
			continue;
		}
		if (c == '@' && line_start && (size_t)(end - p) > 8 &&
		    memcmp(p, "@include", 8) == 0 &&
		    (p[8] == ' ' || p[8] == '\t')) {
			const char *q = p + 8;

			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (q < end && *q == '"') {
				p = do_include(s, q + 1, end, as_file, line,
					       depth, &rc);
				line_start = false;
				continue;
			}
		}
		line_start = false;
		if (c == '#' || (c == '/' && p + 1 < end && p[1] == '/')) {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		if (c == '/' && p + 1 < end && p[1] == '*') {
			p += 2;
			while (p < end &&
			       !(*p == '*' && p + 1 < end && p[1] == '/')) {
				if (*p == '\n')
					line++;
				p++;
			}
			p = p < end ? p + 2 : end;
			continue;
		}
		if (c == '"') {
			unsigned start_line = line;
			bool nul = false;

			p++;
			while (p < end && *p != '"') {
				if (*p == '\n')
					line++;
				if (*p == '\\' && p + 1 < end) {
					if (p[1] == 'x' && p + 3 < end &&
					    p[2] == '0' && p[3] == '0')
						nul = true;
					if (p[1] == '\n')
						line++;
					p += 2;
					continue;
				}
				p++;
			}
			if (p < end)
				p++;
			if (nul)
				rc =
				    add_note(s, GW_SCAN_NUL, as_file,
					     start_line, key, key_len, NULL, 0);
			continue;
		}
		if (is_name_start(c)) {
			const char *q = p;

			while (q < end && is_name_char(*q))
				q++;
			cand = p;
			cand_len = (size_t)(q - p);
			p = q;
			continue;
		}
		if (c == '=' || c == ':') {
			key = cand;
			key_len = cand_len;
			cand = NULL;
			p++;
			continue;
		}
		if (is_digit(c) ||
		    ((c == '-' || c == '+') && p + 1 < end && is_digit(p[1]))) {
			const char *q = p + 1;
			bool is_float = false;
			bool hex = false;

			if (c == '0' && q < end && (*q == 'x' || *q == 'X'))
				hex = true;
			while (q < end) {
				if ((*q == '+' || *q == '-') && !hex &&
				    (q[-1] == 'e' || q[-1] == 'E')) {
					q++;
					continue;
				}
				if (*q == '.' ||
				    (!hex && (*q == 'e' || *q == 'E')))
					is_float = true;
				if (!(is_name_char(*q) || *q == '.') ||
				    *q == '-')
					break;
				q++;
			}
			if (!is_float && int_wraps(p, (size_t)(q - p)))
				rc = add_note(s, GW_SCAN_BIG_INT, as_file, line,
					      key, key_len, p, (size_t)(q - p));
			p = q;
			continue;
		}
		p++;
	}
	return rc;
}

int gw_config_scan(struct gw_scan *s, const char *path, const char *dir,
		   gw_scan_report_fn report, void *user)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int rc;

	memset(s, 0, sizeof(*s));
	s->report = report;
	s->user = user;
	s->dir = dir;
	rc = read_whole(path, &buf, &len, &st);
	if (rc == -ENOMEM)
		return rc;
	if (rc == -EISDIR) {
		fatal(s, path, 0, "is a directory, not a config file", "",
		      NULL);
		return 0;
	}
	if (rc == -EINVAL) {
		fatal(s, path, 0, "is not a regular file", "", NULL);
		return 0;
	}
	if (rc == -EFBIG) {
		fatal(s, path, 0, "is too large for a config file", "", NULL);
		return 0;
	}
	if (rc < 0) {
		fatal(s, path, 0, "cannot read: %s", strerror(-rc), NULL);
		return 0;
	}
	s->open[0].dev = st.st_dev;
	s->open[0].ino = st.st_ino;
	rc = scan_text(s, buf, len, path, 0);
	free(buf);
	return rc;
}

void gw_config_scan_cleanup(struct gw_scan *s)
{
	for (size_t i = 0; i < s->n_notes; i++) {
		free(s->notes[i].file);
		free(s->notes[i].name);
		free(s->notes[i].text);
	}
	free(s->notes);
	memset(s, 0, sizeof(*s));
}

struct gw_scan_note *gw_config_scan_find(struct gw_scan *s,
					 enum gw_scan_note_kind kind,
					 const char *file, unsigned line,
					 const char *name)
{
	for (size_t i = 0; i < s->n_notes; i++) {
		struct gw_scan_note *n = &s->notes[i];

		if (!n->used && n->kind == kind && n->line == line &&
		    strcmp(n->file, file) == 0 &&
		    strcmp(n->name, name ? name : "") == 0)
			return n;
	}
	return NULL;
}
