/*
 * _jsonscan: the elements of a Google Takeout Records.json read in C, straight into columns.
 *
 * selfdata.importers._google_records_native uses it when it is built (it is an
 * optional extension: without it, or with SELFDATA_PURE_PYTHON=1, DuckDB's JSON
 * reader decodes the same pieces and yields the same rows, slower).
 *
 * locations(piece) -> tuple | str
 *   piece: `[` + whole elements of the `locations` array + `]` (what
 *          selfdata.importers._google_stream cuts), UTF-8 JSON (RFC 8259)
 *   returns, one row per element:
 *     (n, reasons, micros, lat, lon, accuracy, accuracy_valid, altitude,
 *      altitude_valid, speed, speed_valid, extra_ends, extra, extra_valid,
 *      wrapped_lat, wrapped_lon)
 *     reasons:  uint8, 0 usable, else why the row is rejected (REASON_*)
 *     micros:   int64 UTC microseconds (from timestampMs, else the ISO timestamp)
 *     lat, lon: float64 degrees (NaN where missing), int32 overflows mended
 *     accuracy, altitude, speed: float64, with Arrow validity bitmaps
 *     extra:    the `extra` JSON as Arrow string buffers (int32 ends) and bitmap
 *     wrapped_lat, wrapped_lon: how many E7 values were mended
 *   or, as a str, why the piece is left to the general reader: anything this
 *   scanner is not sure to read exactly as DuckDB's read_json (the reference)
 *   would: a value of an unexpected type, an odd number or time, a duplicated
 *   key, an element that is not an object, JSON DuckDB reads leniently...
 *   raises ValueError when the piece ends inside an element (a wrong cut).
 *
 * newlines(buffer, start, end) -> int
 *   how many \n bytes buffer[start:end] holds (for _google_stream's line numbers).
 *
 * What each row holds follows _google_records.py, whose DuckDB path this
 * reproduces byte for byte (tests/test_google_records_native.py compares them):
 * numbers and numeric strings become doubles correctly rounded, `extra`'s
 * numbers are written as Arrow writes doubles, its strings as msgspec does.
 * The GIL is released while scanning.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Inlined where called with a known callback, which is then called directly. */
#if defined(__GNUC__)
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

enum { REASON_OK = 0, REASON_NO_PLACE = 1, REASON_OUTSIDE = 2, REASON_NO_TIME = 3 };
enum { GO = 0, STOP = -1 };

/* DuckDB's maximum_object_size in _google_records: a bigger element fails there. */
#define MAX_ELEMENT_BYTES (16 << 20)
#define MAX_DEPTH 512
#define E7 10000000.0
#define WRAP 4294967296.0

/* --- growable buffers (Buffer, grow, put, put_char, put_utf8: _cbuffer.h) --------- */

#define BUFFER_FIRST_CAPACITY 4096
#include "_cbuffer.h"

static inline void put_text(Buffer *b, const char *text) { put(b, text, (Py_ssize_t)strlen(text)); }

/* --- the cursor ------------------------------------------------------------------- */

typedef struct {
    const unsigned char *p, *end;
    const char *declined; /* why the piece goes to the general reader */
    int truncated;        /* the piece ended inside an element */
    int no_memory;
} Cursor;

static int decline(Cursor *c, const char *why) {
    if (!c->declined) c->declined = why;
    return STOP;
}

static int truncated(Cursor *c) {
    c->truncated = 1;
    return STOP;
}

static int out_of_memory(Cursor *c) {
    c->no_memory = 1;
    return STOP;
}

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* JSON's white space. */
static unsigned char SPACE[256];

static inline int is_space(unsigned char c) { return SPACE[c]; }

/* The first byte after the white space at p (end if none): out of line, so that
 * `space` stays small enough to inline where nothing is to be skipped. */
static const unsigned char *after_space(const unsigned char *p, const unsigned char *end) {
    if (end - p > 1 && *p == ' ' && !is_space(p[1])) return p + 1; /* after a colon */
#if defined(__SSE2__) && defined(__GNUC__)
    /* Indentation: sixteen bytes at a time. */
    while (end - p >= 16) {
        __m128i block = _mm_loadu_si128((const __m128i *)p);
        __m128i blank = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(block, _mm_set1_epi8(' ')),
                         _mm_cmpeq_epi8(block, _mm_set1_epi8('\n'))),
            _mm_or_si128(_mm_cmpeq_epi8(block, _mm_set1_epi8('\r')),
                         _mm_cmpeq_epi8(block, _mm_set1_epi8('\t'))));
        unsigned other = (unsigned)_mm_movemask_epi8(blank) ^ 0xFFFFu;
        if (other) return p + __builtin_ctz(other);
        p += 16;
    }
#endif
    while (p < end && is_space(*p)) p++;
    return p;
}

/* Skip white space; the piece ending here is a wrong cut. */
static INLINE int space(Cursor *c) {
    if (c->p < c->end && !SPACE[*c->p]) return GO;
    c->p = after_space(c->p, c->end);
    return c->p < c->end ? GO : truncated(c);
}

/* The next byte after white space is `expected` (consumed). */
static inline int expect(Cursor *c, unsigned char expected, const char *otherwise) {
    if (space(c) < 0) return STOP;
    if (*c->p != expected) return decline(c, otherwise);
    c->p++;
    return GO;
}

/* After a member or element: 1 when `close` follows (consumed), 0 after a comma. */
static inline int next_or_close(Cursor *c, unsigned char close) {
    if (space(c) < 0) return STOP;
    unsigned char next = *c->p++;
    if (next == ',') return 0;
    if (next == close) return 1;
    return decline(c, "a JSON syntax error");
}

/* --- strings ------------------------------------------------------------------------ */

typedef struct {
    const unsigned char *text; /* NULL: absent or null */
    Py_ssize_t length;
    int escaped;
} Span;

/* Bytes a run of string content stops at: the quote, a backslash, control characters. */
static unsigned char STRING_STOP[256];

static inline int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The first quote, backslash or control character at or after p (end if none). */
static inline const unsigned char *string_stop(const unsigned char *p, const unsigned char *end) {
#if defined(__SSE2__) && defined(__GNUC__)
    while (end - p >= 16) {
        __m128i block = _mm_loadu_si128((const __m128i *)p);
        __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(block, _mm_set1_epi8(0x1F)),
                                         _mm_set1_epi8(0x1F));
        __m128i stop = _mm_or_si128(
            control, _mm_or_si128(_mm_cmpeq_epi8(block, _mm_set1_epi8('"')),
                                  _mm_cmpeq_epi8(block, _mm_set1_epi8('\\'))));
        unsigned found = (unsigned)_mm_movemask_epi8(stop);
        if (found) return p + __builtin_ctz(found);
        p += 16;
    }
#endif
    while (p < end && !STRING_STOP[*p]) p++;
    return p;
}

/* The string at the cursor (its opening quote); escapes are checked, not resolved. */
static int string(Cursor *c, Span *out) {
    const unsigned char *p = c->p + 1, *end = c->end;
    int escaped = 0;
    for (;;) {
        p = string_stop(p, end);
        if (p >= end) return truncated(c);
        if (*p == '"') break;
        if (*p != '\\') return decline(c, "a control character in a string");
        escaped = 1;
        if (p + 1 >= end) return truncated(c);
        unsigned char e = p[1];
        if (e == 'u') {
            if (p + 6 > end) return truncated(c);
            for (int k = 2; k < 6; k++)
                if (hex_value(p[k]) < 0) return decline(c, "a bad escape in a string");
            p += 6;
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                   e == 'r' || e == 't') {
            p += 2;
        } else
            return decline(c, "a bad escape in a string");
    }
    out->text = c->p + 1;
    out->length = p - (c->p + 1);
    out->escaped = escaped;
    c->p = p + 1;
    return GO;
}

/* Whether s[0..n) is UTF-8 (Unicode table 3-7). DuckDB passes anything through;
 * the strings this scanner writes out must be text. */
static int is_utf8(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        int length = utf8_length(s + i, n - i); /* 0 or -1: not UTF-8, or cut short */
        if (length <= 0) return 0;
        i += length;
    }
    return 1;
}

/* One character as msgspec's JSON encoder writes it: short escapes where JSON has
 * them, \u00XX for the other control characters, the rest as UTF-8. */
static inline void put_json_char(Buffer *b, uint32_t c) {
    static const char HEX[] = "0123456789abcdef";
    switch (c) {
    case '"': put(b, "\\\"", 2); return;
    case '\\': put(b, "\\\\", 2); return;
    case '\b': put(b, "\\b", 2); return;
    case '\f': put(b, "\\f", 2); return;
    case '\n': put(b, "\\n", 2); return;
    case '\r': put(b, "\\r", 2); return;
    case '\t': put(b, "\\t", 2); return;
    }
    if (c < 0x20) {
        put(b, "\\u00", 4);
        put_char(b, HEX[c >> 4]);
        put_char(b, HEX[c & 15]);
    } else
        put_utf8(b, c);
}

static inline uint32_t hex4(const unsigned char *t) {
    return (uint32_t)(hex_value(t[0]) << 12 | hex_value(t[1]) << 8 | hex_value(t[2]) << 4 |
                      hex_value(t[3]));
}

/* The string as a JSON literal, as msgspec encodes the text DuckDB decodes from it.
 * -1 for a lone surrogate (DuckDB refuses those). */
static int put_string(Buffer *b, Span s) {
    if (grow(b, 6 * s.length + 2) < 0) return -2;
    put_char(b, '"');
    if (!s.escaped) { /* no quote, backslash or control character: as it is */
        put(b, s.text, s.length);
        put_char(b, '"');
        return 0;
    }
    const unsigned char *t = s.text, *end = s.text + s.length;
    while (t < end) {
        const unsigned char *run = t;
        while (t < end && *t != '\\') t++;
        put(b, run, t - run);
        if (t >= end) break;
        unsigned char e = t[1];
        uint32_t c;
        if (e == 'u') {
            c = hex4(t + 2);
            t += 6;
            if (c >= 0xDC00 && c <= 0xDFFF) return -1;
            if (c >= 0xD800 && c <= 0xDBFF) {
                if (end - t < 6 || t[0] != '\\' || t[1] != 'u') return -1;
                uint32_t low = hex4(t + 2);
                if (low < 0xDC00 || low > 0xDFFF) return -1;
                c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
                t += 6;
            }
        } else {
            c = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
              : e == 't' ? '\t' : e;
            t += 2;
        }
        put_json_char(b, c);
    }
    put_char(b, '"');
    return 0;
}

/* --- numbers ------------------------------------------------------------------------ */

static const double POWERS[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The length of the JSON number starting t[0..n), 0 if none starts there; *ended
 * when t ends where the number could go on or is incomplete. */
static Py_ssize_t match_number(const unsigned char *t, Py_ssize_t n, int *integer, int *ended) {
    Py_ssize_t i = 0;
    *integer = 1;
    *ended = 0;
    if (i < n && t[i] == '-') i++;
    if (i >= n) goto ends;
    if (t[i] == '0') i++;
    else if (t[i] >= '1' && t[i] <= '9')
        while (i < n && is_digit(t[i])) i++;
    else
        return 0;
    if (i < n && t[i] == '.') {
        *integer = 0;
        if (++i >= n) goto ends;
        if (!is_digit(t[i])) return 0;
        while (i < n && is_digit(t[i])) i++;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        *integer = 0;
        if (++i < n && (t[i] == '+' || t[i] == '-')) i++;
        if (i >= n) goto ends;
        if (!is_digit(t[i])) return 0;
        while (i < n && is_digit(t[i])) i++;
    }
    if (i >= n) *ended = 1;
    return i;
ends:
    *ended = 1;
    return 0;
}

/* The double nearest a valid JSON number: one exact operation when the digits
 * allow (Clinger's fast path), else strtod; both correctly rounded, like
 * yyjson and DuckDB. An integer literal within int64 is converted as one, as
 * DuckDB does (so `-0` is +0.0). 0 when the value overflows or is too long. */
static int to_double(const unsigned char *t, Py_ssize_t n, int integer, double *out) {
    int negative = t[0] == '-';
    Py_ssize_t i = negative;
    if (integer) {
        uint64_t u = 0;
        int fits = n - i <= 18;
        for (; i < n; i++) u = u * 10 + (t[i] - '0');
        if (fits) {
            *out = negative ? (double)-(int64_t)u : (double)(int64_t)u;
            return 1;
        }
    } else {
        uint64_t m = 0;
        int digits = 0, exact = 1;
        long exponent = 0;
        for (; i < n && is_digit(t[i]); i++) {
            if (m == 0 && t[i] == '0') continue;
            if (digits < 19) {
                m = m * 10 + (t[i] - '0');
                digits++;
            } else {
                exponent++;
                if (t[i] != '0') exact = 0;
            }
        }
        if (i < n && t[i] == '.') {
            for (i++; i < n && is_digit(t[i]); i++) {
                if (m == 0 && t[i] == '0') {
                    exponent--;
                    continue;
                }
                if (digits < 19) {
                    m = m * 10 + (t[i] - '0');
                    digits++;
                    exponent--;
                } else if (t[i] != '0')
                    exact = 0;
            }
        }
        if (i < n) { /* e or E */
            int minus = 0;
            long e = 0;
            i++;
            if (t[i] == '+' || t[i] == '-') minus = t[i++] == '-';
            for (; i < n; i++) e = e < 100000 ? e * 10 + (t[i] - '0') : e;
            exponent += minus ? -e : e;
        }
        if (m == 0) {
            *out = negative ? -0.0 : 0.0;
            return 1;
        }
        if (exact && m <= (1ULL << 53) && exponent >= -22 && exponent <= 22) {
            double v = exponent >= 0 ? (double)m * POWERS[exponent] : (double)m / POWERS[-exponent];
            *out = negative ? -v : v;
            return 1;
        }
    }
    char copy[400];
    if (n >= (Py_ssize_t)sizeof copy) return 0;
    memcpy(copy, t, n);
    copy[n] = 0;
    char *stop;
    double v = strtod(copy, &stop);
    if (stop != copy + n || !isfinite(v)) return 0; /* another locale's decimal point, or inf */
    *out = v;
    return 1;
}

/* An int64 from a valid JSON integer; 0 when it does not fit. */
static int to_int64(const unsigned char *t, Py_ssize_t n, int64_t *out) {
    int negative = t[0] == '-';
    uint64_t u = 0;
    for (Py_ssize_t i = negative; i < n; i++) {
        if (u > (UINT64_MAX - 9) / 10) return 0;
        u = u * 10 + (t[i] - '0');
    }
    if (u > (uint64_t)INT64_MAX + negative) return 0;
    *out = negative ? (int64_t)(0 - u) : (int64_t)u;
    return 1;
}

/* An integer in decimal, as msgspec (and Arrow, for integral doubles) write it. */
static void put_int64(Buffer *b, int64_t value) {
    char digits[24];
    int k = sizeof digits;
    uint64_t u = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    do {
        digits[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (value < 0) digits[--k] = '-';
    put(b, digits + k, (Py_ssize_t)sizeof digits - k);
}

/* A double as Arrow's cast to string writes it: the shortest digits that read
 * back the same, fixed notation for decimal exponents -6 to 9, else d.ddde+X. */
static void put_double(Buffer *b, double v) {
    char text[48];
    if (v == 0) {
        put_text(b, signbit(v) ? "-0" : "0");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e10) {
        put_int64(b, (int64_t)v);
        return;
    }
    int precision;
    for (precision = 1; precision < 17; precision++) {
        snprintf(text, sizeof text, "%.*e", precision - 1, v);
        if (strtod(text, NULL) == v) break;
    }
    if (precision == 17) snprintf(text, sizeof text, "%.16e", v);
    char digits[24];
    int k = 0;
    const char *s = text;
    if (*s == '-') put_char(b, *s++);
    for (; *s && *s != 'e'; s++)
        if (is_digit((unsigned char)*s)) digits[k++] = *s;
    int exponent = atoi(s + 1);
    while (k > 1 && digits[k - 1] == '0') k--;
    if (exponent > -7 && exponent < 10) {
        if (exponent < 0) {
            put(b, "0.", 2);
            for (int z = 0; z < -exponent - 1; z++) put_char(b, '0');
            put(b, digits, k);
        } else {
            for (int d = 0; d <= exponent; d++) put_char(b, d < k ? digits[d] : '0');
            if (k > exponent + 1) {
                put_char(b, '.');
                put(b, digits + exponent + 1, k - exponent - 1);
            }
        }
        return;
    }
    put_char(b, digits[0]);
    if (k > 1) {
        put_char(b, '.');
        put(b, digits + 1, k - 1);
    }
    snprintf(text, sizeof text, "e%c%d", exponent < 0 ? '-' : '+', abs(exponent));
    put_text(b, text);
}

/* --- ISO 8601 times -------------------------------------------------------------- */


static inline int number_at(const unsigned char *t, int digits) {
    int value = 0;
    for (int k = 0; k < digits; k++) {
        if (!is_digit(t[k])) return -1;
        value = value * 10 + (t[k] - '0');
    }
    return value;
}

/* `YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM)` as UTC microseconds: the form
 * Google writes, all of which Arrow's cast (the reference) reads the same. 0 for
 * anything else. */
static int parse_time(const unsigned char *t, Py_ssize_t n, int64_t *micros) {
    if (n < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':')
        return 0;
    int year = number_at(t, 4), month = number_at(t + 5, 2), day = number_at(t + 8, 2);
    int hour = number_at(t + 11, 2), minute = number_at(t + 14, 2), second = number_at(t + 17, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 59)
        return 0;
    if (!date_exists(year, month, day)) return 0;
    Py_ssize_t i = 19;
    int64_t fraction = 0;
    if (t[i] == '.') {
        int digits = 0;
        for (i++; i < n && is_digit(t[i]); i++, digits++) fraction = fraction * 10 + (t[i] - '0');
        if (digits < 1 || digits > 6) return 0;
        for (; digits < 6; digits++) fraction *= 10;
    }
    int64_t offset = 0;
    if (i + 1 == n && t[i] == 'Z') {
    } else if (i + 6 == n && (t[i] == '+' || t[i] == '-') && t[i + 3] == ':') {
        int hours = number_at(t + i + 1, 2), minutes = number_at(t + i + 4, 2);
        if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) return 0;
        offset = (t[i] == '-' ? -1 : 1) * (hours * 60 + minutes);
    } else
        return 0;
    int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                      second - offset * 60;
    *micros = seconds * 1000000 + fraction;
    return 1;
}

/* --- values ------------------------------------------------------------------------- */

/* Literal `null` at the cursor: 1 (consumed), else 0. */
static int null(Cursor *c) {
    if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
        c->p += 4;
        return 1;
    }
    return 0;
}

/* The digits of a short integer at t (at most 18, no leading zero), read into *u;
 * where they stop, or NULL when there are none such. */
static inline const unsigned char *short_integer(const unsigned char *t, const unsigned char *end,
                                                 uint64_t *u) {
    const unsigned char *q = t, *limit = end - t > 18 ? t + 18 : end;
    uint64_t value = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* Eight digits at a time (coordinates have nine, times thirteen). */
    while (limit - q >= 8) {
        uint64_t word;
        memcpy(&word, q, 8);
        if ((word & 0xF0F0F0F0F0F0F0F0ULL) != 0x3030303030303030ULL ||
            ((word + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) != 0x3030303030303030ULL)
            break;
        word -= 0x3030303030303030ULL;
        word = word * 10 + (word >> 8);
        word = (((word & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
                (((word >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
        value = value * 100000000ULL + word;
        q += 8;
    }
#endif
    while (q < limit && is_digit(*q)) value = value * 10 + (*q++ - '0');
    if (q == t || (*t == '0' && q - t > 1)) return NULL;
    *u = value;
    return q;
}

/* A number, a numeric string (DuckDB casts those) or null (NaN) for a DOUBLE column. */
static int number_value(Cursor *c, double *out) {
    *out = NAN;
    if (space(c) < 0) return STOP;
    int integer, ended, negative;
    uint64_t u = 0;
    const unsigned char *stop;
    if (*c->p == '"') {
        Span s;
        if (string(c, &s) < 0) return STOP;
        if (s.escaped) return decline(c, "a string that is not a number");
        /* DuckDB casts text as a float, whatever its digits: -0 stays negative. */
        negative = s.length && *s.text == '-';
        stop = short_integer(s.text + negative, s.text + s.length, &u);
        if (stop == s.text + s.length) {
            *out = negative ? -(double)u : (double)u;
            return GO;
        }
        Py_ssize_t length = match_number(s.text, s.length, &integer, &ended);
        if (length == 0 || length != s.length) return decline(c, "a string that is not a number");
        if (!to_double(s.text, s.length, 0, out)) return decline(c, "a number out of range");
        return GO;
    }
    if (null(c)) return GO;
    /* The usual number, a short integer, in one pass (as to_double would read it). */
    negative = *c->p == '-';
    stop = short_integer(c->p + negative, c->end, &u);
    if (stop && stop < c->end && *stop != '.' && *stop != 'e' && *stop != 'E' && !is_digit(*stop)) {
        *out = negative ? (double)-(int64_t)u : (double)u; /* -0 is +0.0, as in DuckDB */
        c->p = stop;
        return GO;
    }
    Py_ssize_t length = match_number(c->p, c->end - c->p, &integer, &ended);
    if (ended) return truncated(c);
    if (length == 0) return decline(c, "a value that is not a number");
    if (!to_double(c->p, length, integer, out)) return decline(c, "a number out of range");
    c->p += length;
    return GO;
}

/* An integer, a string of one, or null, for a BIGINT column. */
static int integer_value(Cursor *c, int64_t *out, int *present) {
    *present = 0;
    if (space(c) < 0) return STOP;
    int integer, ended;
    const unsigned char *text = c->p;
    Py_ssize_t length, n;
    if (*c->p == '"') {
        Span s;
        if (string(c, &s) < 0) return STOP;
        length = s.escaped ? 0 : match_number(s.text, s.length, &integer, &ended);
        if (length == 0 || length != s.length || !integer)
            return decline(c, "a string that is not an integer");
        text = s.text;
        n = s.length;
    } else {
        if (null(c)) return GO;
        length = match_number(c->p, c->end - c->p, &integer, &ended);
        if (ended) return truncated(c);
        if (length == 0 || !integer) return decline(c, "a value that is not an integer");
        c->p += length;
        n = length;
    }
    if (!to_int64(text, n, out)) return decline(c, "an integer out of range");
    *present = 1;
    return GO;
}

/* A string or null (text NULL) for a VARCHAR column written to `extra`. */
static int text_value(Cursor *c, Span *out) {
    out->text = NULL;
    if (space(c) < 0) return STOP;
    if (null(c)) return GO;
    if (*c->p != '"') return decline(c, "a value that is not a string");
    if (string(c, out) < 0) return STOP;
    if (!is_utf8(out->text, out->length)) return decline(c, "a string that is not UTF-8");
    return GO;
}

/* Skip any value, checking its syntax as strictly as RFC 8259. */
static int skip(Cursor *c, int depth) {
    if (space(c) < 0) return STOP;
    if (depth > MAX_DEPTH) return decline(c, "values nested too deep");
    unsigned char first = *c->p;
    if (first == '"') {
        Span s;
        return string(c, &s);
    }
    if (first == '{' || first == '[') {
        unsigned char close = first == '{' ? '}' : ']';
        c->p++;
        if (space(c) < 0) return STOP;
        if (*c->p == close) {
            c->p++;
            return GO;
        }
        for (;;) {
            if (first == '{') {
                Span key;
                if (space(c) < 0) return STOP;
                if (*c->p != '"') return decline(c, "a JSON syntax error");
                if (string(c, &key) < 0 || expect(c, ':', "a JSON syntax error") < 0) return STOP;
            }
            if (skip(c, depth + 1) < 0) return STOP;
            int closed = next_or_close(c, close);
            if (closed < 0) return STOP;
            if (closed) return GO;
        }
    }
    static const char *LITERALS[] = {"true", "false", "null"};
    static const size_t LENGTHS[] = {4, 5, 4};
    for (int k = 0; k < 3; k++) {
        size_t length = LENGTHS[k];
        if ((size_t)(c->end - c->p) < length) {
            if (memcmp(c->p, LITERALS[k], c->end - c->p) == 0) return truncated(c);
        } else if (memcmp(c->p, LITERALS[k], length) == 0) {
            c->p += length;
            return GO;
        }
    }
    int integer, ended;
    Py_ssize_t length = match_number(c->p, c->end - c->p, &integer, &ended);
    if (ended) return truncated(c);
    if (length == 0) return decline(c, "a JSON syntax error");
    c->p += length;
    return GO;
}

/* --- objects ------------------------------------------------------------------------ */

/* Call `member(c, key, context)` for each member of the object at the cursor. */
typedef int (*Member)(Cursor *c, Span key, void *context);

static INLINE int object(Cursor *c, Member member, void *context) {
    if (space(c) < 0) return STOP;
    if (*c->p != '{') return decline(c, "a value that is not an object");
    c->p++;
    if (space(c) < 0) return STOP;
    if (*c->p == '}') {
        c->p++;
        return GO;
    }
    for (;;) {
        Span key;
        if (space(c) < 0) return STOP;
        if (*c->p != '"') return decline(c, "a JSON syntax error");
        if (string(c, &key) < 0) return STOP;
        if (key.escaped) return decline(c, "an escaped key");
        if (expect(c, ':', "a JSON syntax error") < 0) return STOP;
        if (member(c, key, context) < 0) return STOP;
        int closed = next_or_close(c, '}');
        if (closed < 0) return STOP;
        if (closed) return GO;
    }
}

/* Call `item(c, index, context)` for each element of the array (or null) at the cursor. */
typedef int (*Item)(Cursor *c, Py_ssize_t index, void *context);

static INLINE int array_or_null(Cursor *c, Item item, void *context) {
    if (space(c) < 0) return STOP;
    if (null(c)) return GO;
    if (*c->p != '[') return decline(c, "a value that is not an array");
    c->p++;
    if (space(c) < 0) return STOP;
    if (*c->p == ']') {
        c->p++;
        return GO;
    }
    for (Py_ssize_t index = 0;; index++) {
        if (item(c, index, context) < 0) return STOP;
        int closed = next_or_close(c, ']');
        if (closed < 0) return STOP;
        if (closed) return GO;
    }
}

static inline int is_key(Span key, const char *name, size_t length) {
    return (size_t)key.length == length && memcmp(key.text, name, length) == 0;
}

#define IS_KEY(key, literal) is_key(key, literal, sizeof literal - 1)

/* A key DuckDB reads twice in one object is an error there. */
static inline int first_time(Cursor *c, unsigned *seen, unsigned bit) {
    if (*seen & bit) return decline(c, "a duplicated key");
    *seen |= bit;
    return GO;
}

/* --- activity guesses: [{"activity": [{"type": ..., "confidence": ...}, ...]}, ...] ---- */

typedef struct {
    Span type;         /* of the first guess's first activity */
    double confidence; /* NaN: none */
    int found;         /* the first guess has a first activity */
} Top;

typedef struct {
    Top *top;
    const char *inner; /* "activity" (Records.json) or "activities" (Location History.json) */
    size_t inner_length;
    int first;            /* reading the first guess */
    unsigned guess_seen;  /* keys of the guess being read */
    unsigned entry_seen;  /* keys of the activity being read */
    Span type;
    double confidence;
} Guesses;

static int activity_member(Cursor *c, Span key, void *context) {
    Guesses *g = context;
    if (IS_KEY(key, "type")) {
        if (first_time(c, &g->entry_seen, 1) < 0) return STOP;
        return text_value(c, &g->type);
    }
    if (IS_KEY(key, "confidence")) {
        if (first_time(c, &g->entry_seen, 2) < 0) return STOP;
        return number_value(c, &g->confidence);
    }
    return skip(c, 3);
}

static int activity_item(Cursor *c, Py_ssize_t index, void *context) {
    Guesses *g = context;
    if (space(c) < 0) return STOP;
    int first = g->first && index == 0;
    if (null(c)) return first ? decline(c, "a null first activity") : GO;
    g->entry_seen = 0;
    g->type.text = NULL;
    g->confidence = NAN;
    if (object(c, activity_member, g) < 0) return STOP;
    if (first) {
        g->top->found = 1;
        g->top->type = g->type;
        g->top->confidence = g->confidence;
    }
    return GO;
}

static int guess_member(Cursor *c, Span key, void *context) {
    Guesses *g = context;
    if (!is_key(key, g->inner, g->inner_length)) return skip(c, 2);
    if (first_time(c, &g->guess_seen, 1) < 0) return STOP;
    return array_or_null(c, activity_item, g);
}

static int guess_item(Cursor *c, Py_ssize_t index, void *context) {
    Guesses *g = context;
    if (space(c) < 0) return STOP;
    g->first = index == 0;
    if (null(c)) return g->first ? decline(c, "a null first guess") : GO;
    g->guess_seen = 0;
    return object(c, guess_member, g);
}

static int guesses(Cursor *c, Top *top, const char *inner) {
    Guesses g = {top, inner, strlen(inner), 0, 0, 0, {NULL, 0, 0}, NAN};
    top->found = 0;
    top->type.text = NULL;
    top->confidence = NAN;
    return array_or_null(c, guess_item, &g);
}

/* --- one location ----------------------------------------------------------------- */

enum { LAT, LON, MS, ACCURACY, ALTITUDE, VELOCITY, HEADING, VERTICAL, NUMBERS };

typedef struct {
    double number[NUMBERS]; /* NaN: absent or null */
    int has_time;           /* an ISO timestamp, in `micros` */
    int64_t micros;
    Span source, platform;
    int has_device;
    int64_t device;
    Top activity, activitys;
    unsigned seen;
} Location;

/* Which field a key is: an index in `number`, or one of the others; -1 for none. */
enum { K_TIMESTAMP = NUMBERS, K_SOURCE, K_PLATFORM, K_DEVICE, K_ACTIVITY, K_ACTIVITYS };

static int field_of(Span key) {
    switch (key.length) {
    case 6: return IS_KEY(key, "source") ? K_SOURCE : -1;
    case 7: return IS_KEY(key, "heading") ? HEADING : -1;
    case 8:
        return IS_KEY(key, "accuracy")   ? ACCURACY
               : IS_KEY(key, "altitude") ? ALTITUDE
               : IS_KEY(key, "velocity") ? VELOCITY
               : IS_KEY(key, "activity") ? K_ACTIVITY
                                         : -1;
    case 9:
        return IS_KEY(key, "timestamp")   ? K_TIMESTAMP
               : IS_KEY(key, "deviceTag") ? K_DEVICE
               : IS_KEY(key, "activitys") ? K_ACTIVITYS
                                          : -1;
    case 10: return IS_KEY(key, "latitudeE7") ? LAT : -1;
    case 11:
        return IS_KEY(key, "longitudeE7") ? LON : IS_KEY(key, "timestampMs") ? MS : -1;
    case 12: return IS_KEY(key, "platformType") ? K_PLATFORM : -1;
    case 16: return IS_KEY(key, "verticalAccuracy") ? VERTICAL : -1;
    default: return -1;
    }
}

static int location_member(Cursor *c, Span key, void *context) {
    Location *l = context;
    int field = field_of(key);
    if (field < 0) return skip(c, 1);
    if (first_time(c, &l->seen, 1u << field) < 0) return STOP;
    if (field < NUMBERS) return number_value(c, &l->number[field]);
    switch (field) {
    case K_TIMESTAMP: {
        Span text;
        if (text_value(c, &text) < 0) return STOP;
        if (!text.text) return GO;
        if (text.escaped || !parse_time(text.text, text.length, &l->micros))
            return decline(c, "a timestamp of another form");
        l->has_time = 1;
        return GO;
    }
    case K_SOURCE: return text_value(c, &l->source);
    case K_PLATFORM: return text_value(c, &l->platform);
    case K_DEVICE: return integer_value(c, &l->device, &l->has_device);
    case K_ACTIVITY: return guesses(c, &l->activity, "activity");
    default: return guesses(c, &l->activitys, "activities");
    }
}

/* --- columns ------------------------------------------------------------------------ */

enum { C_REASON, C_MICROS, C_LAT, C_LON, C_ACCURACY, C_ACCURACY_OK, C_ALTITUDE, C_ALTITUDE_OK,
       C_SPEED, C_SPEED_OK, C_EXTRA_ENDS, C_EXTRA, C_EXTRA_OK, N_COLUMNS };

typedef struct {
    Buffer column[N_COLUMNS];
    Py_ssize_t n;
    Py_ssize_t wrapped[2];
} Columns;

/* Bytes per row of each column (`extra` varies). */
static const int WIDTH[N_COLUMNS] = {1, 8, 8, 8, 8, 1, 8, 1, 8, 1, 4, 0, 1};

static int reserve_row(Columns *out) {
    for (int k = 0; k < N_COLUMNS; k++)
        if (WIDTH[k] && grow(&out->column[k], WIDTH[k]) < 0) return -1;
    return 0;
}

/* Room for the rows a piece of this size usually holds (Google's elements take
 * 150 to 300 bytes), so that the columns rarely grow. */
static int presize(Columns *out, Py_ssize_t piece_bytes) {
    Py_ssize_t rows = piece_bytes / 128 + 1;
    for (int k = 0; k < N_COLUMNS; k++)
        if (grow(&out->column[k], k == C_EXTRA ? piece_bytes / 2 : (rows + 1) * WIDTH[k]) < 0)
            return -1;
    return 0;
}

/* Degrees from E7 (NaN stays NaN), mending a value an int32 overflow left 2^32 too high. */
static double degrees(double e7, double limit, Py_ssize_t *wrapped) {
    if (e7 > limit * E7 && e7 - WRAP >= -limit * E7) {
        e7 -= WRAP;
        (*wrapped)++;
    }
    return e7 / E7;
}

/* `,"key":` (no comma first), with room for a number after it. */
static inline int put_key(Buffer *b, int *first, const char *key, Py_ssize_t length) {
    if (grow(b, length + 48) < 0) return -1;
    if (!*first) put_char(b, ',');
    *first = 0;
    put_char(b, '"');
    put(b, key, length);
    put(b, "\":", 2);
    return 0;
}

#define PUT_KEY(b, first, literal) put_key(b, first, literal, sizeof literal - 1)

static inline int put_number_member(Buffer *b, int *first, const char *key, double value) {
    if (isnan(value)) return 0;
    if (put_key(b, first, key, (Py_ssize_t)strlen(key)) < 0) return -1;
    put_double(b, value);
    return 0;
}

/* 0, -1 out of memory, -2 for a lone surrogate (DuckDB refuses those). */
static inline int put_text_member(Buffer *b, int *first, const char *key, const Span *text) {
    if (!text->text) return 0;
    if (put_key(b, first, key, (Py_ssize_t)strlen(key)) < 0) return -1;
    int written = put_string(b, *text);
    return written == -2 ? -1 : written == -1 ? -2 : 0;
}

/* `extra`: heading, vertical_accuracy, activity, activity_confidence, source,
 * device_tag, platform_type, each where present (*present 0 when none is). */
static int put_extra(Buffer *b, const Location *l, const Top *top, int *present) {
    static const Span NONE = {NULL, 0, 0};
    Py_ssize_t start = b->size;
    int first = 1, status;
    if (grow(b, 1) < 0) return -1;
    put_char(b, '{');
    if (put_number_member(b, &first, "heading", l->number[HEADING]) < 0 ||
        put_number_member(b, &first, "vertical_accuracy", l->number[VERTICAL]) < 0)
        return -1;
    if ((status = put_text_member(b, &first, "activity", top->found ? &top->type : &NONE)) < 0)
        return status;
    if (put_number_member(b, &first, "activity_confidence", top->found ? top->confidence : NAN) < 0)
        return -1;
    if ((status = put_text_member(b, &first, "source", &l->source)) < 0) return status;
    if (l->has_device) {
        if (PUT_KEY(b, &first, "device_tag") < 0) return -1;
        put_int64(b, l->device);
    }
    if ((status = put_text_member(b, &first, "platform_type", &l->platform)) < 0) return status;
    *present = !first;
    if (first) {
        b->size = start;
        return 0;
    }
    if (grow(b, 1) < 0) return -1;
    put_char(b, '}');
    return 0;
}

static int add_row(Cursor *c, Columns *out, const Location *l) {
    if (reserve_row(out) < 0) return out_of_memory(c);
    double lat = degrees(l->number[LAT], 90, &out->wrapped[0]);
    double lon = degrees(l->number[LON], 180, &out->wrapped[1]);
    double ms = l->number[MS];
    int64_t micros = 0;
    if (!isnan(ms)) {
        double us = rint(ms * 1000);
        if (!(us > -9.2e18 && us < 9.2e18)) return decline(c, "a timestampMs out of range");
        micros = (int64_t)us;
    } else if (l->has_time)
        micros = l->micros;
    unsigned char reason = REASON_OK;
    if (isnan(lat) || isnan(lon)) reason = REASON_NO_PLACE;
    else if (fabs(lat) > 90 || fabs(lon) > 180) reason = REASON_OUTSIDE;
    else if (isnan(ms) && !l->has_time) reason = REASON_NO_TIME;
    Buffer *col = out->column;
    put_char(&col[C_REASON], (char)reason);
    put(&col[C_MICROS], &micros, 8);
    put(&col[C_LAT], &lat, 8);
    put(&col[C_LON], &lon, 8);
    const int NULLABLE[3][3] = {{C_ACCURACY, C_ACCURACY_OK, ACCURACY},
                                {C_ALTITUDE, C_ALTITUDE_OK, ALTITUDE},
                                {C_SPEED, C_SPEED_OK, VELOCITY}};
    for (int k = 0; k < 3; k++) {
        double value = l->number[NULLABLE[k][2]];
        int valid = !isnan(value);
        if (!valid) value = 0;
        put(&col[NULLABLE[k][0]], &value, 8);
        put_char(&col[NULLABLE[k][1]], (char)valid);
    }
    /* The later field wins where a point has both kinds of guesses, as there. */
    const Top *top = l->activitys.found ? &l->activitys : &l->activity;
    int present = 0, status = put_extra(&col[C_EXTRA], l, top, &present);
    if (status == -1) return out_of_memory(c);
    if (status == -2) return decline(c, "a lone surrogate in a string");
    if (col[C_EXTRA].size > INT32_MAX) return decline(c, "a piece too big");
    int32_t end = (int32_t)col[C_EXTRA].size;
    put(&col[C_EXTRA_ENDS], &end, 4);
    put_char(&col[C_EXTRA_OK], (char)present);
    out->n++;
    return GO;
}

static int location_item(Cursor *c, Py_ssize_t index, void *context) {
    (void)index;
    Location l;
    memset(&l, 0, sizeof l);
    for (int k = 0; k < NUMBERS; k++) l.number[k] = NAN;
    if (space(c) < 0) return STOP;
    const unsigned char *start = c->p;
    if (*c->p != '{') return decline(c, "an element that is not an object");
    if (object(c, location_member, &l) < 0) return STOP;
    if (c->p - start > MAX_ELEMENT_BYTES) return decline(c, "an element too big");
    return add_row(c, context, &l);
}

/* --- the module ---------------------------------------------------------------- */

static void free_columns(Columns *out) {
    for (int k = 0; k < N_COLUMNS; k++) PyMem_RawFree(out->column[k].data);
}

/* A column handed to Python without a copy: it owns the buffer's memory and
 * exposes it read-only through the buffer protocol (numpy and Arrow read it). */
typedef struct {
    PyObject_HEAD
    char *data;
    Py_ssize_t size;
} Block;

static int block_getbuffer(PyObject *self, Py_buffer *view, int flags) {
    Block *block = (Block *)self;
    return PyBuffer_FillInfo(view, self, block->data, block->size, 1, flags);
}

static void block_dealloc(PyObject *self) {
    PyMem_RawFree(((Block *)self)->data);
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs block_buffer = {block_getbuffer, NULL};

static PyTypeObject BlockType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "selfdata._jsonscan.Block",
    .tp_basicsize = sizeof(Block),
    .tp_dealloc = block_dealloc,
    .tp_as_buffer = &block_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Bytes of one column, owned.",
};

/* The buffer's bytes as a Block, which takes its memory over (trimmed to size). */
static PyObject *block_of(Buffer *b) {
    Block *block = PyObject_New(Block, &BlockType);
    if (!block) return NULL;
    char *data = b->size ? PyMem_RawRealloc(b->data, b->size) : NULL;
    block->data = data ? data : b->data;
    block->size = b->size;
    b->data = NULL;
    b->size = b->capacity = 0;
    return (PyObject *)block;
}

/* uint8 flags as an Arrow validity bitmap (least significant bit first). */
static PyObject *bitmap_of(const Buffer *flags) {
    Py_ssize_t n = flags->size;
    PyObject *bitmap = PyBytes_FromStringAndSize(NULL, (n + 7) / 8);
    if (!bitmap) return NULL;
    unsigned char *bits = (unsigned char *)PyBytes_AS_STRING(bitmap);
    memset(bits, 0, (n + 7) / 8);
    for (Py_ssize_t i = 0; i < n; i++)
        if (flags->data[i]) bits[i >> 3] |= (unsigned char)(1u << (i & 7));
    return bitmap;
}

static PyObject *locations(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*", &view)) return NULL;
    Columns out;
    memset(&out, 0, sizeof out);
    Cursor c = {view.buf, (const unsigned char *)view.buf + view.len, NULL, 0, 0};
    int status = GO;
    Py_BEGIN_ALLOW_THREADS
    int32_t zero = 0;
    if (presize(&out, view.len) < 0) status = out_of_memory(&c);
    else put(&out.column[C_EXTRA_ENDS], &zero, 4);
    if (status == GO) status = array_or_null(&c, location_item, &out);
    if (status == GO) {
        while (c.p < c.end && is_space(*c.p)) c.p++;
        if (c.p != c.end) status = decline(&c, "text after the array");
    }
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (c.no_memory) PyErr_NoMemory();
    else if (c.truncated)
        PyErr_SetString(PyExc_ValueError, "the piece ends inside an element");
    else if (c.declined)
        result = PyUnicode_FromString(c.declined);
    else {
        Buffer *col = out.column;
        result = Py_BuildValue(
            "(nNNNNNNNNNNNNNnn)", out.n, block_of(&col[C_REASON]), block_of(&col[C_MICROS]),
            block_of(&col[C_LAT]), block_of(&col[C_LON]), block_of(&col[C_ACCURACY]),
            bitmap_of(&col[C_ACCURACY_OK]), block_of(&col[C_ALTITUDE]),
            bitmap_of(&col[C_ALTITUDE_OK]), block_of(&col[C_SPEED]), bitmap_of(&col[C_SPEED_OK]),
            block_of(&col[C_EXTRA_ENDS]), block_of(&col[C_EXTRA]), bitmap_of(&col[C_EXTRA_OK]),
            out.wrapped[0], out.wrapped[1]);
    }
    free_columns(&out);
    PyBuffer_Release(&view);
    return result;
}

/* newlines(buffer, start, end) -> int: how many \n bytes buffer[start:end] holds
 * (for line numbers; numpy's way allocates a mask as big as the buffer). */
static PyObject *newlines(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    Py_ssize_t start, end, count = 0;
    if (!PyArg_ParseTuple(args, "y*nn", &view, &start, &end)) return NULL;
    if (start < 0 || end > view.len || start > end) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_IndexError, "range outside the buffer");
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)view.buf + start, *stop = (const unsigned char *)view.buf + end;
    Py_BEGIN_ALLOW_THREADS
#if defined(__SSE2__) && defined(__GNUC__)
    /* Sixteen counters of a byte each (a match subtracts -1), summed before they
     * can overflow: no popcount instruction needed. */
    __m128i newline = _mm_set1_epi8('\n');
    while (stop - p >= 16) {
        __m128i counts = _mm_setzero_si128();
        for (int round = 0; round < 255 && stop - p >= 16; round++, p += 16) {
            __m128i block = _mm_loadu_si128((const __m128i *)p);
            counts = _mm_sub_epi8(counts, _mm_cmpeq_epi8(block, newline));
        }
        __m128i sums = _mm_sad_epu8(counts, _mm_setzero_si128());
        count += _mm_cvtsi128_si32(sums) + _mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
    }
#endif
    for (; p < stop; p++) count += *p == '\n';
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(count);
}

static PyMethodDef methods[] = {
    {"locations", locations, METH_VARARGS,
     "The rows of a piece of Records.json's locations array, as column buffers."},
    {"newlines", newlines, METH_VARARGS, "How many newlines buffer[start:end] holds."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_jsonscan", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__jsonscan(void) {
    for (int c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
    STRING_STOP['"'] = STRING_STOP['\\'] = 1;
    SPACE[' '] = SPACE['\n'] = SPACE['\r'] = SPACE['\t'] = 1;
    if (PyType_Ready(&BlockType) < 0) return NULL;
    return PyModule_Create(&module);
}
