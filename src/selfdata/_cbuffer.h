/* Growable byte buffers, UTF-8 and the civil calendar, shared by the C extensions
 * (_xmltok.c, _jsonscan.c).
 *
 * Each extension includes this header once; everything is static, so each
 * module keeps its own copy and nothing is exported. Callers reserve space
 * first (`grow`), then write without checks (`put`, `put_char`, `put_utf8`),
 * which keeps the per-byte work free of branches. An extension may define
 * BUFFER_FIRST_CAPACITY before including it: the size of a buffer's first
 * allocation.
 */
#ifndef SELFDATA_CBUFFER_H
#define SELFDATA_CBUFFER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#ifndef BUFFER_FIRST_CAPACITY
#define BUFFER_FIRST_CAPACITY 256
#endif

typedef struct {
    char *data;
    Py_ssize_t size, capacity;
} Buffer;

/* Room for `extra` more bytes; -1 when memory runs out (nothing is lost then). */
static int grow(Buffer *b, Py_ssize_t extra) {
    if (b->size + extra <= b->capacity) return 0;
    Py_ssize_t capacity = b->capacity ? b->capacity : BUFFER_FIRST_CAPACITY;
    while (capacity < b->size + extra) capacity *= 2;
    char *grown = PyMem_RawRealloc(b->data, capacity);
    if (!grown) return -1;
    b->data = grown;
    b->capacity = capacity;
    return 0;
}

static inline void put(Buffer *b, const void *data, Py_ssize_t length) {
    if (length == 0) return; /* b->data may still be NULL */
    memcpy(b->data + b->size, data, length);
    b->size += length;
}

static inline void put_char(Buffer *b, char c) { b->data[b->size++] = c; }

/* One code point as UTF-8 (the caller has checked it is a valid one). */
static inline void put_utf8(Buffer *b, uint32_t c) {
    if (c < 0x80) put_char(b, (char)c);
    else if (c < 0x800) {
        put_char(b, (char)(0xC0 | (c >> 6)));
        put_char(b, (char)(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        put_char(b, (char)(0xE0 | (c >> 12)));
        put_char(b, (char)(0x80 | ((c >> 6) & 0x3F)));
        put_char(b, (char)(0x80 | (c & 0x3F)));
    } else {
        put_char(b, (char)(0xF0 | (c >> 18)));
        put_char(b, (char)(0x80 | ((c >> 12) & 0x3F)));
        put_char(b, (char)(0x80 | ((c >> 6) & 0x3F)));
        put_char(b, (char)(0x80 | (c & 0x3F)));
    }
}

/* Length of the UTF-8 sequence at s (Unicode table 3-7), 0 if it is not one,
 * -1 if `left` bytes end before it does while what is there is right so far. */
static inline int utf8_length(const unsigned char *s, Py_ssize_t left) {
    unsigned char c = s[0];
    int length;
    unsigned char low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) length = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        if (c == 0xE0) low = 0xA0;
        if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        if (c == 0xF0) low = 0x90;
        if (c == 0xF4) high = 0x8F;
    } else
        return 0;
    for (int k = 1; k < length; k++) {
        if (k >= left) return -1;
        unsigned char next = s[k];
        if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return 0;
    }
    return length;
}

/* Whether day `day` of month `month` (1 to 12) exists in `year`. */
static int date_exists(int year, int month, int day) {
    static const int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day >= 1 && day <= DAYS[month - 1] + (month == 2 && leap);
}

/* Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard
 * Hinnant's days_from_civil), for times read straight into epoch numbers. */
static int64_t days_from_civil(int year, int month, int day) {
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

#endif
