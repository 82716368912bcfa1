/* A tiny reader of flat JSON objects ({"key": value, ...} where a value is a
 * string, number, true, false or null), enough for configuration files. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
  const char *s, *p;
  char *out; /* where unescaped text goes */
  char *err;
  size_t err_size;
} parser;

static int fail(parser *ps, const char *what) {
  int line = 1, col = 1;
  for (const char *q = ps->s; q < ps->p; q++) {
    if (*q == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  snprintf(ps->err, ps->err_size, "line %d, column %d: %s", line, col, what);
  return 1;
}

static void skip_ws(parser *ps) {
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
    ps->p++;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Reads a string literal at p into ps->out; *res points at its text. */
static int read_string(parser *ps, char **res) {
  if (*ps->p != '"')
    return fail(ps, "expected a string");
  ps->p++;
  *res = ps->out;
  for (;;) {
    char c = *ps->p;
    if (c == '\0')
      return fail(ps, "unterminated string");
    if ((unsigned char)c < 0x20)
      return fail(ps, "control character in a string");
    ps->p++;
    if (c == '"')
      break;
    if (c != '\\') {
      *ps->out++ = c;
      continue;
    }
    char e = *ps->p++;
    switch (e) {
    case '"':
    case '\\':
    case '/':
      *ps->out++ = e;
      break;
    case 'b':
      *ps->out++ = '\b';
      break;
    case 'f':
      *ps->out++ = '\f';
      break;
    case 'n':
      *ps->out++ = '\n';
      break;
    case 'r':
      *ps->out++ = '\r';
      break;
    case 't':
      *ps->out++ = '\t';
      break;
    case 'u': {
      unsigned v = 0;
      for (int i = 0; i < 4; i++) {
        int h = hexval(*ps->p);
        if (h < 0)
          return fail(ps, "bad \\u escape");
        v = v * 16 + (unsigned)h;
        ps->p++;
      }
      /* UTF-8 of the code point (surrogate pairs are kept as two). */
      if (v < 0x80) {
        *ps->out++ = (char)v;
      } else if (v < 0x800) {
        *ps->out++ = (char)(0xC0 | (v >> 6));
        *ps->out++ = (char)(0x80 | (v & 0x3F));
      } else {
        *ps->out++ = (char)(0xE0 | (v >> 12));
        *ps->out++ = (char)(0x80 | ((v >> 6) & 0x3F));
        *ps->out++ = (char)(0x80 | (v & 0x3F));
      }
      break;
    }
    default:
      ps->p--;
      return fail(ps, "bad escape in a string");
    }
  }
  *ps->out++ = '\0';
  return 0;
}

/* A number, true, false or null: copied as text. */
static int read_scalar(parser *ps, char **res) {
  const char *start = ps->p;
  if (*ps->p == '{' || *ps->p == '[')
    return fail(ps, "nested objects and arrays are not supported: a config "
                    "file is one flat object of key: value pairs");
  if (strncmp(ps->p, "true", 4) == 0 || strncmp(ps->p, "null", 4) == 0)
    ps->p += 4;
  else if (strncmp(ps->p, "false", 5) == 0)
    ps->p += 5;
  else {
    if (*ps->p == '-')
      ps->p++;
    if (!(*ps->p >= '0' && *ps->p <= '9'))
      return fail(ps, "expected a value (string, number, true, false, null)");
    while ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.' || *ps->p == 'e' ||
           *ps->p == 'E' || *ps->p == '+' || *ps->p == '-')
      ps->p++;
  }
  char c = *ps->p;
  if (!(c == ',' || c == '}' || c == ' ' || c == '\t' || c == '\n' ||
        c == '\r'))
    return fail(ps, "unexpected character after a value");
  size_t n = (size_t)(ps->p - start);
  memcpy(ps->out, start, n);
  *res = ps->out;
  ps->out += n;
  *ps->out++ = '\0';
  return 0;
}

static int parse(const char *text, cli_json *j, char *err, size_t size) {
  memset(j, 0, sizeof *j);
  /* Unescaped text is never longer than the input. */
  j->mem = malloc(strlen(text) + 1);
  if (!j->mem) {
    snprintf(err, size, "out of memory");
    return 1;
  }
  parser ps = {text, text, j->mem, err, size};
  skip_ws(&ps);
  if (*ps.p != '{')
    return fail(&ps, "expected '{' (a config file is one JSON object)");
  ps.p++;
  skip_ws(&ps);
  if (*ps.p == '}') {
    ps.p++;
  } else {
    for (;;) {
      skip_ws(&ps);
      char *key, *val;
      if (read_string(&ps, &key))
        return 1;
      skip_ws(&ps);
      if (*ps.p != ':')
        return fail(&ps, "expected ':' after a key");
      ps.p++;
      skip_ws(&ps);
      int str = *ps.p == '"';
      if (str ? read_string(&ps, &val) : read_scalar(&ps, &val))
        return 1;
      for (int i = 0; i < j->n; i++)
        if (strcmp(j->keys[i], key) == 0)
          return fail(&ps, "duplicate key");
      if (j->n >= CLI_JSON_MAX_KEYS)
        return fail(&ps, "too many keys");
      j->keys[j->n] = key;
      j->values[j->n] = val;
      j->is_string[j->n] = str;
      j->n++;
      skip_ws(&ps);
      if (*ps.p == ',') {
        ps.p++;
        continue;
      }
      if (*ps.p == '}') {
        ps.p++;
        break;
      }
      return fail(&ps, "expected ',' or '}'");
    }
  }
  skip_ws(&ps);
  if (*ps.p != '\0')
    return fail(&ps, "text after the closing '}'");
  return 0;
}

int cli_json_parse(const char *text, cli_json *j, char *err, size_t size) {
  int rc = parse(text, j, err, size);
  if (rc)
    cli_json_free(j);
  return rc;
}

int cli_json_read_file(const char *path, cli_json *out, char *err,
                       size_t size) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, size, "cannot open %s", path);
    return 1;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 >= cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (!buf) {
    snprintf(err, size, "out of memory reading %s", path);
    return 1;
  }
  buf[n] = '\0';
  if (strlen(buf) != n) {
    free(buf);
    snprintf(err, size, "%s contains a NUL byte", path);
    return 1;
  }
  char msg[256];
  int rc = cli_json_parse(buf, out, msg, sizeof msg);
  free(buf);
  if (rc)
    snprintf(err, size, "%s: %s", path, msg);
  return rc;
}

void cli_json_free(cli_json *j) {
  free(j->mem);
  memset(j, 0, sizeof *j);
}

const char *cli_json_get(const cli_json *j, const char *key) {
  for (int i = 0; i < j->n; i++)
    if (strcmp(j->keys[i], key) == 0)
      return j->values[i];
  return NULL;
}
