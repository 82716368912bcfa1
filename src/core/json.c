/* The one JSON reader and writer (see json.h). */
#include "core/json.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
  brl_json *j;
  const char *s;
  size_t len, pos;
  int max_depth;
} parser;

void brl__json_where(const brl_json *j, int64_t off, int *line, int *col) {
  int ln = 1, c = 1;
  for (int64_t i = 0; i < off && (size_t)i < j->len; i++) {
    if (j->src[i] == '\n') {
      ln++;
      c = 1;
    } else {
      c++;
    }
  }
  *line = ln;
  *col = c;
}

static int fail_at(parser *p, size_t pos, const char *what) {
  int line, col;
  brl__json_where(p->j, (int64_t)pos, &line, &col);
  return brl__fail(BRL_EFORMAT, "JSON error at line %d, column %d: %s", line,
                   col, what);
}

/* "expected WHAT, found <the text at pos>". */
static int expected(parser *p, size_t pos, const char *what) {
  char found[32], msg[200];
  if (pos >= p->len) {
    snprintf(found, sizeof found, "the end of the text");
  } else {
    unsigned char c = (unsigned char)p->s[pos];
    if (c > 0x20 && c < 0x7F)
      snprintf(found, sizeof found, "'%c'", c);
    else
      snprintf(found, sizeof found, "byte 0x%02X", (unsigned)c);
  }
  snprintf(msg, sizeof msg, "expected %s, found %s", what, found);
  return fail_at(p, pos, msg);
}

static int new_node(parser *p, brl_jtype type, int32_t *out) {
  brl_json *j = p->j;
  if (j->n == j->cap) {
    if (j->cap >= INT32_MAX / 2)
      return fail_at(p, p->pos, "too many values");
    int32_t nc = j->cap ? j->cap * 2 : 64;
    brl_jnode *q = realloc(j->nodes, sizeof *q * (size_t)nc);
    if (!q)
      return brl__fail(BRL_ENOMEM, "out of memory parsing JSON");
    j->nodes = q;
    j->cap = nc;
  }
  brl_jnode *nd = &j->nodes[j->n];
  memset(nd, 0, sizeof *nd);
  nd->type = (uint8_t)type;
  nd->next = nd->child = -1;
  nd->off = (int64_t)p->pos;
  *out = j->n++;
  return BRL_OK;
}

static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    char c = p->s[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
      break;
    p->pos++;
  }
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

static int read_hex4(const char *s, uint32_t *out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(s[i]);
    if (h < 0)
      return 0;
    v = v * 16 + (uint32_t)h;
  }
  *out = v;
  return 1;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0)
      lo = 0xA0; /* no overlongs */
    if (c == 0xED)
      hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0)
      lo = 0x90;
    if (c == 0xF4)
      hi = 0x8F;
  } else
    return 0;
  if (n < len || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return len;
}

static int parse_string(parser *p, int32_t *out) {
  int rc = new_node(p, BRL_JSTRING, out);
  if (rc)
    return rc;
  const size_t start = ++p->pos; /* after the quote */
  while (p->pos < p->len) {
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '"') {
      brl_jnode *nd = &p->j->nodes[*out];
      nd->off = (int64_t)start;
      if (p->pos - start > UINT32_MAX)
        return fail_at(p, start, "string too long");
      nd->len = (uint32_t)(p->pos - start);
      p->pos++;
      return BRL_OK;
    }
    if (c < 0x20)
      return fail_at(p, p->pos, "control character in a string");
    if (c == '\\') {
      if (p->pos + 1 >= p->len)
        break;
      char e = p->s[p->pos + 1];
      if (e == 'u') {
        uint32_t u, u2;
        if (p->pos + 6 > p->len || !read_hex4(p->s + p->pos + 2, &u))
          return fail_at(p, p->pos, "invalid \\u escape");
        p->pos += 6;
        if (u >= 0xDC00 && u <= 0xDFFF)
          return fail_at(p, p->pos - 6, "lone low surrogate");
        if (u >= 0xD800 && u <= 0xDBFF) {
          if (p->pos + 6 > p->len || p->s[p->pos] != '\\' ||
              p->s[p->pos + 1] != 'u' || !read_hex4(p->s + p->pos + 2, &u2) ||
              u2 < 0xDC00 || u2 > 0xDFFF)
            return fail_at(p, p->pos - 6, "lone high surrogate");
          p->pos += 6;
        }
        continue;
      }
      if (!strchr("\"\\/bfnrt", e) || e == 0)
        return fail_at(p, p->pos, "invalid escape");
      p->pos += 2;
      continue;
    }
    size_t n = utf8_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
    if (!n)
      return fail_at(p, p->pos, "invalid UTF-8 in a string");
    p->pos += n;
  }
  return fail_at(p, start - 1, "unterminated string");
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p, int32_t *out) {
  int rc = new_node(p, BRL_JNUMBER, out);
  if (rc)
    return rc;
  const size_t start = p->pos;
  const char *s = p->s;
  size_t i = p->pos, n = p->len;
  if (i < n && s[i] == '-')
    i++;
  if (i < n && s[i] == '0') {
    i++;
  } else if (i < n && s[i] >= '1' && s[i] <= '9') {
    while (i < n && is_digit(s[i]))
      i++;
  } else {
    return fail_at(p, start, "invalid number");
  }
  if (i < n && s[i] == '.') {
    i++;
    if (i >= n || !is_digit(s[i]))
      return fail_at(p, start, "invalid number (digits must follow '.')");
    while (i < n && is_digit(s[i]))
      i++;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    if (i >= n || !is_digit(s[i]))
      return fail_at(p, start, "invalid number (exponent without digits)");
    while (i < n && is_digit(s[i]))
      i++;
  }
  if (i < n && (is_digit(s[i]) || s[i] == '.' || s[i] == 'e' || s[i] == 'E'))
    return fail_at(p, start, "invalid number (leading zero?)");
  if (i - start > UINT32_MAX)
    return fail_at(p, start, "number too long");
  p->j->nodes[*out].len = (uint32_t)(i - start);
  p->pos = i;
  return BRL_OK;
}

static int parse_value(parser *p, int depth, int32_t *out);

static int parse_container(parser *p, int depth, int object, int32_t *out) {
  if (depth >= p->max_depth) {
    char msg[96];
    snprintf(msg, sizeof msg, "nesting deeper than %d levels (the limit)",
             p->max_depth);
    return fail_at(p, p->pos, msg);
  }
  int rc = new_node(p, object ? BRL_JOBJECT : BRL_JARRAY, out);
  if (rc)
    return rc;
  const char close = object ? '}' : ']';
  p->pos++;
  skip_ws(p);
  int32_t last = -1, count = 0;
  if (p->pos < p->len && p->s[p->pos] == close) {
    p->pos++;
    return BRL_OK;
  }
  for (;;) {
    int32_t key = -1, val;
    skip_ws(p);
    if (object) {
      if (p->pos >= p->len || p->s[p->pos] != '"')
        return expected(p, p->pos, "a member name in quotes");
      if ((rc = parse_string(p, &key)))
        return rc;
      skip_ws(p);
      if (p->pos >= p->len || p->s[p->pos] != ':')
        return expected(p, p->pos, "':' after a member name");
      p->pos++;
    }
    if ((rc = parse_value(p, depth + 1, &val)))
      return rc;
    brl_jnode *nodes = p->j->nodes;
    int32_t first = object ? key : val;
    if (object)
      nodes[key].next = val;
    if (last < 0)
      nodes[*out].child = first;
    else
      nodes[last].next = first;
    last = val;
    if (count == INT32_MAX)
      return fail_at(p, p->pos, "too many elements");
    count++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ',') {
      p->pos++;
      continue;
    }
    if (p->pos < p->len && p->s[p->pos] == close) {
      p->pos++;
      p->j->nodes[*out].n = count;
      return BRL_OK;
    }
    return expected(p, p->pos,
                    object ? "',' or '}' after a member"
                           : "',' or ']' after an element");
  }
}

static int literal(parser *p, const char *word, brl_jtype type, int32_t *out) {
  size_t n = strlen(word);
  if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
    return expected(p, p->pos,
                    "a value (invalid value: true, false and null are "
                    "lower case)");
  int rc = new_node(p, type, out);
  if (rc)
    return rc;
  p->j->nodes[*out].len = (uint32_t)n;
  p->pos += n;
  return BRL_OK;
}

static int parse_value(parser *p, int depth, int32_t *out) {
  skip_ws(p);
  if (p->pos >= p->len)
    return expected(p, p->pos, "a value (unexpected end of text)");
  char c = p->s[p->pos];
  switch (c) {
  case '{':
    return parse_container(p, depth, 1, out);
  case '[':
    return parse_container(p, depth, 0, out);
  case '"':
    return parse_string(p, out);
  case 't':
    return literal(p, "true", BRL_JTRUE, out);
  case 'f':
    return literal(p, "false", BRL_JFALSE, out);
  case 'n':
    return literal(p, "null", BRL_JNULL, out);
  default:
    if (c == '-' || is_digit(c))
      return parse_number(p, out);
    return expected(p, p->pos,
                    "a value (invalid value: an object, array, string, "
                    "number, true, false or null)");
  }
}

int brl__json_parse(const char *src, size_t len, brl_json *out) {
  return brl__json_parse_limited(src, len, BRL_JSON_MAX_DEPTH,
                                 BRL_JSON_MAX_BYTES, out);
}

int brl__json_parse_limited(const char *src, size_t len, int max_depth,
                            size_t max_bytes, brl_json *out) {
  memset(out, 0, sizeof *out);
  BRL_CHECK_ARG(src);
  if (len > max_bytes || len > BRL_JSON_MAX_BYTES)
    return brl__fail(
        BRL_EFORMAT,
        "JSON text of %zu bytes is longer than the limit of %zu "
        "bytes",
        len, max_bytes < BRL_JSON_MAX_BYTES ? max_bytes : BRL_JSON_MAX_BYTES);
  out->src = src;
  out->len = len;
  parser p = {out, src, len, 0, max_depth < 1 ? 1 : max_depth};
  /* A UTF-8 byte order mark is not JSON (RFC 8259 section 8.1). */
  int32_t root;
  int rc = parse_value(&p, 0, &root);
  if (!rc) {
    skip_ws(&p);
    if (p.pos != len)
      rc = expected(&p, p.pos, "the end of the text after the value");
  }
  if (rc)
    brl__json_free(out);
  return rc;
}

void brl__json_free(brl_json *j) {
  free(j->nodes);
  memset(j, 0, sizeof *j);
}

static size_t put_utf8(uint32_t u, char *o) {
  if (u < 0x80) {
    o[0] = (char)u;
    return 1;
  }
  if (u < 0x800) {
    o[0] = (char)(0xC0 | (u >> 6));
    o[1] = (char)(0x80 | (u & 0x3F));
    return 2;
  }
  if (u < 0x10000) {
    o[0] = (char)(0xE0 | (u >> 12));
    o[1] = (char)(0x80 | ((u >> 6) & 0x3F));
    o[2] = (char)(0x80 | (u & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (u >> 18));
  o[1] = (char)(0x80 | ((u >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((u >> 6) & 0x3F));
  o[3] = (char)(0x80 | (u & 0x3F));
  return 4;
}

/* Decodes string node i, one unit (a byte, an escape, a code point) at a
 * time: into buf when buf is not NULL (the caller checked the size), and,
 * when cmp is not NULL, comparing with the cmp_n bytes of cmp: -1 at the
 * first difference. Returns the decoded length. The string was validated
 * by the parser. */
static int64_t decode(const brl_json *j, int32_t i, char *buf, const char *cmp,
                      size_t cmp_n) {
  const brl_jnode *nd = &j->nodes[i];
  const char *s = j->src + nd->off, *end = s + nd->len;
  int64_t n = 0;
  char tmp[4];
  while (s < end) {
    size_t k = 1;
    if (*s != '\\') {
      tmp[0] = *s++;
    } else if (s[1] != 'u') {
      const char e = s[1];
      tmp[0] = e == 'b'   ? '\b'
               : e == 'f' ? '\f'
               : e == 'n' ? '\n'
               : e == 'r' ? '\r'
               : e == 't' ? '\t'
                          : e;
      s += 2;
    } else {
      uint32_t u = 0, u2 = 0;
      read_hex4(s + 2, &u);
      s += 6;
      if (u >= 0xD800 && u <= 0xDBFF) {
        read_hex4(s + 2, &u2);
        s += 6;
        u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
      }
      k = put_utf8(u, tmp);
    }
    if (cmp && ((uint64_t)n + k > cmp_n || memcmp(cmp + n, tmp, k)))
      return -1;
    if (buf)
      memcpy(buf + n, tmp, k);
    n += (int64_t)k;
  }
  return n;
}

int64_t brl__json_string_len(const brl_json *j, int32_t i) {
  return decode(j, i, NULL, NULL, 0);
}

int64_t brl__json_string(const brl_json *j, int32_t i, char *buf, size_t size) {
  int64_t n = decode(j, i, NULL, NULL, 0);
  if ((uint64_t)n + 1 > size)
    return -1;
  decode(j, i, buf, NULL, 0);
  buf[n] = 0;
  return n;
}

int brl__json_string_is(const brl_json *j, int32_t i, const char *s, size_t n) {
  return j->nodes[i].type == BRL_JSTRING &&
         decode(j, i, NULL, s, n) == (int64_t)n;
}

int32_t brl__json_member(const brl_json *j, int32_t obj, const char *key) {
  if (obj < 0 || j->nodes[obj].type != BRL_JOBJECT)
    return -1;
  const size_t n = strlen(key);
  for (int32_t k = j->nodes[obj].child; k >= 0;
       k = j->nodes[j->nodes[k].next].next)
    if (brl__json_string_is(j, k, key, n))
      return j->nodes[k].next;
  return -1;
}

int brl__json_float(const brl_json *j, int32_t i, float *out) {
  const brl_jnode *nd = &j->nodes[i];
  if (nd->type == BRL_JNUMBER)
    return brl__float_parse(j->src + nd->off, nd->len, out);
  if (brl__json_string_is(j, i, "inf", 3))
    *out = INFINITY;
  else if (brl__json_string_is(j, i, "-inf", 4))
    *out = -INFINITY;
  else if (brl__json_string_is(j, i, "nan", 3))
    *out = NAN;
  else
    return 0;
  return 1;
}

/* ------------------------------------------------------------ writing */

int brl__json_utf8_valid(const char *s) {
  const size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    size_t k = utf8_len((const unsigned char *)s + i, n - i);
    if (!k)
      return 0;
    i += k;
  }
  return 1;
}

void brl__json_put_string(brl_sb *sb, const char *s) {
  brl__sb_putn(sb, "\"", 1);
  const char *run = s; /* bytes written as they are, up to c */
  for (const char *c = s; *c; c++) {
    const unsigned char u = (unsigned char)*c;
    if (u >= 0x20 && u != '"' && u != '\\')
      continue;
    brl__sb_putn(sb, run, (size_t)(c - run));
    run = c + 1;
    if (u == '"')
      brl__sb_puts(sb, "\\\"");
    else if (u == '\\')
      brl__sb_puts(sb, "\\\\");
    else if (u == '\n')
      brl__sb_puts(sb, "\\n");
    else if (u == '\t')
      brl__sb_puts(sb, "\\t");
    else if (u == '\r')
      brl__sb_puts(sb, "\\r");
    else
      brl__sb_printf(sb, "\\u%04x", u);
  }
  brl__sb_puts(sb, run);
  brl__sb_putn(sb, "\"", 1);
}

void brl__json_put_float(brl_sb *sb, float v) {
  if (isfinite(v)) {
    brl__sb_float(sb, v);
  } else {
    brl__sb_putn(sb, "\"", 1);
    brl__sb_float(sb, v);
    brl__sb_putn(sb, "\"", 1);
  }
}

void brl__json_put_floats(brl_sb *sb, const float *v, int64_t n) {
  brl__sb_putn(sb, "[", 1);
  for (int64_t i = 0; i < n; i++) {
    if (i)
      brl__sb_puts(sb, ", ");
    brl__json_put_float(sb, v[i]);
  }
  brl__sb_putn(sb, "]", 1);
}
