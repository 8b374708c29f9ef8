/*
 * _xmltok: Apple Health's export.xml read in C, one buffer of whole elements at a time.
 *
 * selfdata.importers._apple_health_records uses it when it is built (it is an
 * optional extension: a machine without a C compiler falls back to the
 * numpy/polars path, which yields the same rows, slower). It never resolves
 * DTDs or entities other than XML's five and character references.
 *
 * check(buffer, final) -> (forbidden, bad)
 *   forbidden: how many control characters XML forbids the buffer holds
 *   bad:       offset of the first byte that is not UTF-8, or -1 (a character
 *              cut by the end of a buffer that is not the file's last is fine)
 *
 * records(buffer, level, final, sleep_type, canonical, spans) -> tuple
 *   buffer:     UTF-8 XML without forbidden characters, starting where the last
 *               call stopped; `level` elements are open at its start
 *   sleep_type: the Record type that makes sleep rows
 *   canonical:  ((type, canonical unit), ...): a Record's unit goes into `extra`
 *               when its type is listed with another unit
 *   spans:      names of the top-level elements to hand back as byte ranges
 *   returns (used, level, health, sleep, dictionaries, rejects, spans, slow,
 *            points, point_rejects, holes)
 *   used, level: bytes consumed (whole top-level elements only, unless final)
 *                and the elements open after them
 *   health, sleep: (n, start, end, zone, value, value_ok, type, unit, source,
 *                device, text, extra_offsets, extra, offsets), one row per
 *                top-level Record with usable dates, as raw arrays: int64
 *                UTC microseconds, int16 offset minutes, float64 value and a
 *                uint8 flag for numbers, int32 indexes into the dictionaries
 *                (-1: absent), the `extra` JSON as Arrow string buffers, int64
 *                byte offsets of the sleep rows
 *   dictionaries: (types, units, sources, devices, texts), tuples of str
 *   rejects:    int64 pairs (REJECT_*, byte offset of the Record)
 *   spans:      int64 triples (index in `spans`, start, end)
 *   slow:       ((column, row, text), ...): numbers with more digits than the
 *               exact fast conversion takes (SLOW_*); the caller converts them
 *   points:     (n, at, zone, lat, lon, accuracy, altitude, speed, has_accuracy,
 *                has_altitude, has_speed, span, source, extra_offsets, extra):
 *                the <Location>s of each WorkoutRoute in a span, with the index
 *                of their span and their route's sourceName in `sources`
 *   point_rejects: int64 pairs (span, byte offset) of Locations without a
 *                usable date, latitude or longitude
 *   holes:      int64 pairs (start, end) of the empty-element Locations read
 *                as points, which a parse of the spans can leave out
 *
 * Rows follow docs/apple_health_rows.md: attribute values are normalised as
 * XML says (tab, newline, carriage return -> space) and unescaped; dates are
 * `YYYY-MM-DD HH:MM:SS +HHMM` exactly; numbers are plain decimals; metadata
 * are the Record's own MetadataEntry children (a repeated key: the later
 * wins); beats come from HeartRateVariabilityMetadataList children.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { START = 0, END = 1, EMPTY = 2, OTHER = 3 };
enum { REJECT_DATES = 0, REJECT_SLEEP_DATES = 1, REJECT_NO_TYPE = 2 };

/* --- growable buffers (Buffer, grow, put, put_char, put_utf8: _cbuffer.h) --------- */

#include "_cbuffer.h"

static int append(Buffer *b, const char *text, Py_ssize_t length) {
    if (grow(b, length) < 0) return -1;
    put(b, text, length);
    return 0;
}

/* --- check: UTF-8 and forbidden control characters ------------------------------- */

static inline int is_forbidden(unsigned char c) {
    return c < 0x20 && c != '\t' && c != '\n' && c != '\r';
}


static PyObject *check(PyObject *self, PyObject *args) {
    Py_buffer view;
    int final;
    if (!PyArg_ParseTuple(args, "y*p", &view, &final)) return NULL;
    const unsigned char *text = view.buf;
    Py_ssize_t size = view.len, i = 0, forbidden = 0, bad = -1;
    Py_BEGIN_ALLOW_THREADS
    for (;;) {
#if defined(__SSE2__) && defined(__GNUC__)
        /* Sixteen bytes at a time up to the first that is not ASCII. */
        while (i + 16 <= size) {
            __m128i block = _mm_loadu_si128((const __m128i *)(text + i));
            unsigned high = (unsigned)_mm_movemask_epi8(block);
            unsigned low = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(block, _mm_set1_epi8(0x20)));
            Py_ssize_t ascii = high ? __builtin_ctz(high) : 16;
            low &= ~high & ((1u << ascii) - 1);
            if (low) {
                __m128i allowed = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(block, _mm_set1_epi8('\n')),
                                 _mm_cmpeq_epi8(block, _mm_set1_epi8('\t'))),
                    _mm_cmpeq_epi8(block, _mm_set1_epi8('\r')));
                /* Nearly always none: newlines and tabs are allowed. */
                for (unsigned bad = low & ~(unsigned)_mm_movemask_epi8(allowed); bad;
                     bad &= bad - 1)
                    forbidden++;
            }
            i += ascii;
            if (high) break;
        }
#endif
        /* Eight ASCII bytes at a time; a byte below 0x20 sends the word to the check below. */
        while (i + 8 <= size) {
            uint64_t word;
            memcpy(&word, text + i, 8);
            if (word & 0x8080808080808080ULL) break;
            if ((word - 0x2020202020202020ULL) & ~word & 0x8080808080808080ULL) {
                for (int k = 0; k < 8; k++) forbidden += is_forbidden(text[i + k]);
            }
            i += 8;
        }
        if (i >= size) break;
        unsigned char c = text[i];
        if (c < 0x80) {
            forbidden += is_forbidden(c);
            i++;
            continue;
        }
        int length = utf8_length(text + i, size - i);
        if (length == 0 || (length < 0 && final)) {
            bad = i;
            break;
        }
        if (length < 0) break; /* cut by the buffer's end: the next read completes it */
        i += length;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return Py_BuildValue("(nn)", forbidden, bad);
}

/* --- XML values: normalise, unescape, JSON ---------------------------------------- */

/* Bytes that a value's text cannot be copied past: 1 to unescape or normalise,
 * 2 to escape in JSON. */
static unsigned char CLASS[256];

/* Bytes that end a name in a tag (white space does too). */
enum { SPACE = 1, NAME_END = 2 };
static unsigned char SYNTAX[256];

static void init_classes(void) {
    for (int c = 0; c < 0x20; c++) CLASS[c] = 2;
    CLASS['&'] = CLASS['\t'] = CLASS['\n'] = CLASS['\r'] = 1;
    CLASS['"'] = CLASS['\\'] = 2;
    SYNTAX[' '] = SYNTAX['\n'] = SYNTAX['\t'] = SYNTAX['\r'] = SPACE | NAME_END;
    SYNTAX['>'] = SYNTAX['/'] = SYNTAX['='] = SYNTAX['<'] = NAME_END;
}

static inline int needs_unescape(const char *text, Py_ssize_t length) {
    for (Py_ssize_t i = 0; i < length; i++)
        if (CLASS[(unsigned char)text[i]] == 1) return 1;
    return 0;
}

static inline int is_xml_char(uint32_t c) {
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* The character an entity or character reference at text[0] == '&' stands for;
 * sets *used to its length. 0 when it is none of XML's (then '&' stays as it is). */
static uint32_t entity(const char *text, Py_ssize_t length, Py_ssize_t *used) {
    static const struct { const char *name; Py_ssize_t length; uint32_t c; } NAMED[] = {
        {"&lt;", 4, '<'}, {"&gt;", 4, '>'}, {"&amp;", 5, '&'}, {"&quot;", 6, '"'},
        {"&apos;", 6, '\''},
    };
    for (size_t k = 0; k < sizeof NAMED / sizeof NAMED[0]; k++) {
        if (length >= NAMED[k].length && memcmp(text, NAMED[k].name, NAMED[k].length) == 0) {
            *used = NAMED[k].length;
            return NAMED[k].c;
        }
    }
    if (length < 4 || text[1] != '#') return 0;
    int hex = text[2] == 'x';
    uint32_t c = 0;
    Py_ssize_t i = hex ? 3 : 2, digits = 0;
    for (; i < length && text[i] != ';'; i++, digits++) {
        char d = text[i];
        int value;
        if (d >= '0' && d <= '9') value = d - '0';
        else if (hex && d >= 'a' && d <= 'f') value = d - 'a' + 10;
        else if (hex && d >= 'A' && d <= 'F') value = d - 'A' + 10;
        else return 0;
        c = c * (hex ? 16 : 10) + value;
        if (c > 0x10FFFF) return 0;
    }
    if (i >= length || digits == 0 || !is_xml_char(c)) return 0;
    *used = i + 1;
    return c;
}

static inline void put_json_char(Buffer *b, uint32_t c) {
    static const char HEX[] = "0123456789abcdef";
    if (c == '"' || c == '\\') {
        put_char(b, '\\');
        put_char(b, (char)c);
    } else if (c < 0x20) {
        put(b, "\\u00", 4);
        put_char(b, HEX[c >> 4]);
        put_char(b, HEX[c & 15]);
    } else
        put_utf8(b, c);
}

/* Append an attribute's value as XML reads it (whitespace normalised, references
 * resolved), as a JSON string literal when `json`. Output is at most 6x the input. */
static int put_value(Buffer *b, const char *text, Py_ssize_t length, int json) {
    if (grow(b, 6 * length + 2) < 0) return -1;
    if (json) put_char(b, '"');
    Py_ssize_t i = 0;
    while (i < length) {
        Py_ssize_t run = i;
        while (i < length && !CLASS[(unsigned char)text[i]]) i++;
        put(b, text + run, i - run);
        if (i >= length) break;
        unsigned char c = (unsigned char)text[i];
        if (c == '&') {
            Py_ssize_t used = 1;
            uint32_t resolved = entity(text + i, length - i, &used);
            if (!resolved) resolved = '&';
            if (json) put_json_char(b, resolved);
            else put_utf8(b, resolved);
            i += used;
        } else if (c == '\t' || c == '\n' || c == '\r') {
            /* XML's end-of-line handling first makes \r\n one \n: one space. */
            put_char(b, ' ');
            i += (c == '\r' && i + 1 < length && text[i + 1] == '\n') ? 2 : 1;
        } else {
            if (json) put_json_char(b, c);
            else put_char(b, (char)c);
            i++;
        }
    }
    if (json) put_char(b, '"');
    return 0;
}

/* --- numbers and dates ----------------------------------------------------------- */

static const double POWERS[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Whether `text` is a plain decimal number, `[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?`,
 * and its value. It is exact (one correctly rounded operation) with at most 15
 * significant digits and a power of ten up to 22; otherwise *slow is set and
 * *value is only close. */
static int parse_number(const char *text, Py_ssize_t length, double *value, int *slow) {
    Py_ssize_t i = 0;
    int negative = 0, exponent = 0, significant = 0, int_digits = 0, frac_digits = 0;
    uint64_t mantissa = 0;
    *slow = 0;
    if (i < length && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    for (; i < length && is_digit(text[i]); i++, int_digits++) {
        if (significant < 19) {
            mantissa = mantissa * 10 + (text[i] - '0');
            significant += mantissa != 0;
        } else {
            exponent++;
            *slow = 1;
        }
    }
    if (i < length && text[i] == '.') {
        for (i++; i < length && is_digit(text[i]); i++, frac_digits++) {
            if (significant < 19) {
                mantissa = mantissa * 10 + (text[i] - '0');
                significant += mantissa != 0;
                exponent--;
            } else
                *slow = 1;
        }
        if (int_digits == 0 && frac_digits == 0) return 0;
    } else if (int_digits == 0)
        return 0;
    if (i < length && (text[i] == 'e' || text[i] == 'E')) {
        int sign = 1, digits = 0, written = 0;
        i++;
        if (i < length && (text[i] == '+' || text[i] == '-')) sign = text[i++] == '-' ? -1 : 1;
        for (; i < length && is_digit(text[i]); i++, digits++) {
            if (written < 100000) written = written * 10 + (text[i] - '0');
        }
        if (!digits) return 0;
        exponent += sign * written;
    }
    if (i != length) return 0;
    if (mantissa == 0) {
        *value = negative ? -0.0 : 0.0;
        *slow = 0;
        return 1;
    }
    /* Exact with at most 15 digits and 10^22 (one rounding); otherwise close, and
     * the caller converts the text exactly. */
    if (significant > 15 || exponent > 22 || exponent < -22) *slow = 1;
    double result = (double)mantissa;
    for (; exponent > 22 && result < 1e300; exponent -= 22) result *= 1e22;
    for (; exponent < -22 && result > 1e-300; exponent += 22) result /= 1e22;
    if (exponent > 22) result *= 1e22 * 1e22; /* overflows to infinity */
    else if (exponent < -22) result = 0.0;
    else result = exponent >= 0 ? result * POWERS[exponent] : result / POWERS[-exponent];
    *value = negative ? -result : result;
    return 1;
}

/* A number already known to be plain, as a JSON number that reads back the same. */
static int put_json_number(Buffer *b, const char *text, Py_ssize_t length) {
    if (grow(b, length + 2) < 0) return -1;
    Py_ssize_t i = 0;
    if (text[i] == '+' || text[i] == '-') {
        if (text[i] == '-') put_char(b, '-');
        i++;
    }
    Py_ssize_t digits = i;
    while (digits < length && is_digit(text[digits])) digits++;
    Py_ssize_t first = i;
    while (first < digits - 1 && text[first] == '0') first++; /* JSON: no leading zeros */
    if (first < digits) put(b, text + first, digits - first);
    else put_char(b, '0');
    i = digits;
    if (i < length && text[i] == '.') {
        Py_ssize_t fraction = ++i;
        while (i < length && is_digit(text[i])) i++;
        if (i > fraction) {
            put_char(b, '.');
            put(b, text + fraction, i - fraction);
        }
    }
    if (i < length) put(b, text + i, length - i); /* the exponent: JSON takes it as written */
    return 0;
}


static inline int two(const char *t) {
    return is_digit(t[0]) && is_digit(t[1]) ? (t[0] - '0') * 10 + (t[1] - '0') : -1;
}

/* `2023-03-26 08:10:00 +0200` -> UTC microseconds and offset minutes; 0 if it is not
 * a date of that exact shape that exists. */
static int parse_date(const char *t, Py_ssize_t length, int64_t *micros, int *zone) {
    if (length != 25 || t[4] != '-' || t[7] != '-' || t[10] != ' ' || t[13] != ':' ||
        t[16] != ':' || t[19] != ' ' || (t[20] != '+' && t[20] != '-'))
        return 0;
    int century = two(t), years = two(t + 2), month = two(t + 5), day = two(t + 8);
    int hour = two(t + 11), minute = two(t + 14), second = two(t + 17);
    int zone_hours = two(t + 21), zone_minutes = two(t + 23);
    if (century < 0 || years < 0 || month < 1 || month > 12 || day < 1 || hour < 0 ||
        hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || zone_hours < 0 ||
        zone_minutes < 0)
        return 0;
    int year = century * 100 + years;
    if (year < 1 || !date_exists(year, month, day)) return 0;
    int offset = (t[20] == '-' ? -1 : 1) * (zone_hours * 60 + zone_minutes);
    int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                      second - (int64_t)offset * 60;
    *micros = seconds * 1000000;
    *zone = offset;
    return 1;
}

/* --- dictionaries ---------------------------------------------------------------- */

typedef struct {
    Buffer keys;       /* the strings, back to back */
    int32_t *ends;     /* per entry: end of its key in `keys` */
    uint32_t *hashes;  /* per entry */
    int32_t *values;   /* per entry: what the caller stores */
    Py_ssize_t count, capacity;
    int32_t *slots; /* open addressing: entry + 1, 0 for empty */
    Py_ssize_t n_slots;
} Table;

static uint32_t hash_of(const char *text, Py_ssize_t length) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)length;
    Py_ssize_t i = 0;
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        memcpy(&word, text + i, 8);
        h = (h ^ word) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
    }
    uint64_t tail = 0;
    memcpy(&tail, text + i, length - i);
    h = (h ^ tail) * 0xC4CEB9FE1A85EC53ULL;
    return (uint32_t)(h ^ (h >> 29));
}

static inline const char *key_of(Table *t, Py_ssize_t entry, Py_ssize_t *length) {
    int32_t start = entry ? t->ends[entry - 1] : 0;
    *length = t->ends[entry] - start;
    return t->keys.data + start;
}

static int rehash(Table *t, Py_ssize_t n_slots) {
    int32_t *slots = PyMem_RawCalloc(n_slots, sizeof(int32_t));
    if (!slots) return -1;
    for (Py_ssize_t e = 0; e < t->count; e++) {
        Py_ssize_t s = t->hashes[e] & (n_slots - 1);
        while (slots[s]) s = (s + 1) & (n_slots - 1);
        slots[s] = (int32_t)(e + 1);
    }
    PyMem_RawFree(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return 0;
}

/* The entry holding `text`, added if new (*added set); -1 when out of memory. */
static Py_ssize_t find_or_add(Table *t, const char *text, Py_ssize_t length, int *added) {
    uint32_t h = hash_of(text, length);
    *added = 0;
    if (t->n_slots) {
        for (Py_ssize_t s = h & (t->n_slots - 1); t->slots[s]; s = (s + 1) & (t->n_slots - 1)) {
            Py_ssize_t e = t->slots[s] - 1, key_length;
            const char *key = key_of(t, e, &key_length);
            if (t->hashes[e] == h && key_length == length && memcmp(key, text, length) == 0)
                return e;
        }
    }
    if (t->keys.size + length > INT32_MAX) return -1;
    if (t->count == t->capacity) {
        Py_ssize_t capacity = t->capacity ? 2 * t->capacity : 64;
        int32_t *ends = PyMem_RawRealloc(t->ends, capacity * sizeof(int32_t));
        if (ends) t->ends = ends;
        uint32_t *hashes = PyMem_RawRealloc(t->hashes, capacity * sizeof(uint32_t));
        if (hashes) t->hashes = hashes;
        int32_t *values = PyMem_RawRealloc(t->values, capacity * sizeof(int32_t));
        if (values) t->values = values;
        if (!ends || !hashes || !values) return -1;
        t->capacity = capacity;
    }
    if (2 * (t->count + 1) > t->n_slots && rehash(t, t->n_slots ? 2 * t->n_slots : 128) < 0)
        return -1;
    if (append(&t->keys, text, length) < 0) return -1;
    Py_ssize_t e = t->count++;
    t->ends[e] = (int32_t)t->keys.size;
    t->hashes[e] = h;
    t->values[e] = -1;
    Py_ssize_t s = h & (t->n_slots - 1);
    while (t->slots[s]) s = (s + 1) & (t->n_slots - 1);
    t->slots[s] = (int32_t)(e + 1);
    *added = 1;
    return e;
}

static void free_table(Table *t) {
    PyMem_RawFree(t->keys.data);
    PyMem_RawFree(t->ends);
    PyMem_RawFree(t->hashes);
    PyMem_RawFree(t->values);
    PyMem_RawFree(t->slots);
}

/* Distinct values of one attribute: raw text -> index of its unescaped text.
 * Exports repeat a handful of values a million times, so the last one is remembered. */
typedef struct {
    Table raw, unique;
    const char *last;
    Py_ssize_t last_length;
    int32_t last_index;
    Buffer scratch;
} Dictionary;

/* Index of the value in the dictionary; *added when its text is new. -2: out of memory. */
static int32_t lookup(Dictionary *d, const char *text, Py_ssize_t length, int *added) {
    *added = 0;
    if (d->last && d->last_length == length && memcmp(d->last, text, length) == 0)
        return d->last_index;
    int fresh;
    Py_ssize_t e = find_or_add(&d->raw, text, length, &fresh);
    if (e < 0) return -2;
    if (fresh) {
        d->scratch.size = 0;
        if (put_value(&d->scratch, text, length, 0) < 0) return -2;
        Py_ssize_t u = find_or_add(&d->unique, d->scratch.data, d->scratch.size, added);
        if (u < 0) return -2;
        d->raw.values[e] = (int32_t)u;
    }
    d->last = text;
    d->last_length = length;
    d->last_index = d->raw.values[e];
    return d->last_index;
}

static void free_dictionary(Dictionary *d) {
    free_table(&d->raw);
    free_table(&d->unique);
    PyMem_RawFree(d->scratch.data);
}

static PyObject *dictionary_values(Dictionary *d) {
    PyObject *values = PyTuple_New(d->unique.count);
    if (!values) return NULL;
    for (Py_ssize_t e = 0; e < d->unique.count; e++) {
        Py_ssize_t length;
        const char *key = key_of(&d->unique, e, &length);
        PyObject *text = PyUnicode_DecodeUTF8(key, length, "strict");
        if (!text) {
            Py_DECREF(values);
            return NULL;
        }
        PyTuple_SET_ITEM(values, e, text);
    }
    return values;
}

/* --- rows ------------------------------------------------------------------------- */

typedef struct {
    Py_ssize_t n, capacity;
    int64_t *start, *end, *offset;
    int16_t *zone;
    double *value;
    uint8_t *value_ok;
    int32_t *type, *unit, *source, *device, *text;
    int32_t *extra_ends; /* capacity + 1 entries, Arrow offsets */
    Buffer extra;
} Rows;

/* Rows and Points are structs of arrays that grow together: GROW reallocates one
 * array of `r` to `capacity` entries (setting `failed` on error), FREE frees it. */
#define GROW(field)                                                                    \
    {                                                                                  \
        void *grown = PyMem_RawRealloc(r->field, capacity * sizeof(*r->field));       \
        if (grown) r->field = grown;                                                   \
        else failed = 1;                                                               \
    }
#define FREE(field) PyMem_RawFree(r->field);

/* The last step of growing: the `extra` JSON offsets (one more than rows), then the
 * new capacity, only when every array grew. */
static int grow_extra_ends(int32_t **extra_ends, Py_ssize_t *current, Py_ssize_t capacity,
                           int failed) {
    int32_t *ends = PyMem_RawRealloc(*extra_ends, (capacity + 1) * sizeof(int32_t));
    if (ends) *extra_ends = ends;
    if (failed || !ends) return -1;
    if (*current == 0) (*extra_ends)[0] = 0;
    *current = capacity;
    return 0;
}

#define ROW_ARRAYS(X) \
    X(start) X(end) X(offset) X(zone) X(value) X(value_ok) X(type) X(unit) X(source) \
    X(device) X(text)

static int reserve_row(Rows *r) {
    if (r->n < r->capacity) return 0;
    Py_ssize_t capacity = r->capacity ? 2 * r->capacity : 1024;
    int failed = 0;
    ROW_ARRAYS(GROW)
    return grow_extra_ends(&r->extra_ends, &r->capacity, capacity, failed);
}

static void free_rows(Rows *r) {
    ROW_ARRAYS(FREE)
    PyMem_RawFree(r->extra_ends);
    PyMem_RawFree(r->extra.data);
}

static PyObject *bytes_of(const void *data, Py_ssize_t size) {
    return PyBytes_FromStringAndSize(size ? data : "", size);
}

static PyObject *rows_tuple(Rows *r) {
    Py_ssize_t n = r->n;
#define B(field) bytes_of(r->field, n * (Py_ssize_t)sizeof(*r->field))
    int32_t zero = 0;
    return Py_BuildValue("(nNNNNNNNNNNNNN)", n, B(start), B(end), B(zone), B(value),
                         B(value_ok), B(type), B(unit), B(source), B(device), B(text),
                         n ? bytes_of(r->extra_ends, (n + 1) * 4) : bytes_of(&zero, 4),
                         bytes_of(r->extra.data, r->extra.size), B(offset));
#undef B
}

/* Inline route points: the <Location> children of a WorkoutRoute (iOS 12 and older). */
typedef struct {
    Py_ssize_t n, capacity;
    int64_t *at, *offset;
    int16_t *zone;
    double *lat, *lon, *accuracy, *altitude, *speed;
    uint8_t *has_accuracy, *has_altitude, *has_speed;
    int32_t *span, *source; /* the element it is in (index in `spans`), its route's source */
    int32_t *extra_ends;
    Buffer extra;
} Points;

#define POINT_ARRAYS(X) \
    X(at) X(offset) X(zone) X(lat) X(lon) X(accuracy) X(altitude) X(speed) X(has_accuracy) \
    X(has_altitude) X(has_speed) X(span) X(source)

static int reserve_point(Points *r) {
    if (r->n < r->capacity) return 0;
    Py_ssize_t capacity = r->capacity ? 2 * r->capacity : 256;
    int failed = 0;
    POINT_ARRAYS(GROW)
    return grow_extra_ends(&r->extra_ends, &r->capacity, capacity, failed);
}

static void free_points(Points *r) {
    POINT_ARRAYS(FREE)
    PyMem_RawFree(r->extra_ends);
    PyMem_RawFree(r->extra.data);
}

static PyObject *points_tuple(Points *r) {
    Py_ssize_t n = r->n;
#define B(field) bytes_of(r->field, n * (Py_ssize_t)sizeof(*r->field))
    int32_t zero = 0;
    return Py_BuildValue("(nNNNNNNNNNNNNNN)", n, B(at), B(zone), B(lat), B(lon), B(accuracy),
                         B(altitude), B(speed), B(has_accuracy), B(has_altitude), B(has_speed),
                         B(span), B(source),
                         n ? bytes_of(r->extra_ends, (n + 1) * 4) : bytes_of(&zero, 4),
                         bytes_of(r->extra.data, r->extra.size));
#undef B
}

/* --- the scanner --------------------------------------------------------------------- */

typedef struct {
    const char *at; /* NULL: absent */
    Py_ssize_t length;
} Span;

/* Record attributes, in Apple's order. */
enum { TYPE, SOURCE, VERSION, DEVICE, UNIT, CREATED, STARTS, ENDS, VALUE, N_RECORD };
/* MetadataEntry and InstantaneousBeatsPerMinute attributes share the first slots. */
enum { KEY = 0, META_VALUE = 1, BPM = 0, TIME = 1 };

/* Location and WorkoutRoute attributes. */
enum { DATE, LAT, LON, ALTITUDE, ACCURACY, VERTICAL, COURSE, SPEED, N_LOCATION };
enum { ROUTE_SOURCE = 0 };
/* Columns of numbers that may come back for the caller to convert (too long for C). */
enum { SLOW_VALUE, SLOW_LAT, SLOW_LON, SLOW_ACCURACY, SLOW_ALTITUDE, SLOW_SPEED };
/* Levels below a top-level element whose element kinds are followed. */
#define MAX_LEVEL 32

enum { E_OTHER, E_RECORD, E_METADATA, E_HRV_LIST, E_BEAT, E_ROUTE, E_LOCATION };
enum { TOP_NONE, TOP_RECORD, TOP_SPAN, TOP_SKIP };

typedef struct {
    Py_ssize_t key, key_length, value, value_length; /* in `meta` */
    int alive;
} Entry;

typedef struct {
    const char *text;
    Py_ssize_t size;
    int level, top, span, second;
    Py_ssize_t span_start;
    /* The open top-level Record. */
    Py_ssize_t offset;
    Span attrs[N_RECORD];
    Buffer meta, beats;
    Entry *entries;
    Py_ssize_t n_entries, entries_capacity;
    Py_ssize_t n_beats;
    /* Configuration. */
    const char *sleep_type;
    Py_ssize_t sleep_type_length;
    const char **canonical_types, **canonical_units;
    Py_ssize_t *canonical_type_lengths, *canonical_unit_lengths, n_canonical;
    const char **span_names;
    Py_ssize_t *span_name_lengths, n_span_names;
    /* Results. */
    Rows health, sleep;
    Dictionary types, units, sources, devices, texts;
    int32_t *type_canonical; /* per type: index in canonical, or -1 */
    uint8_t *type_sleep;
    Py_ssize_t type_capacity;
    Buffer rejects, spans, slow, slow_text, scratch;
    /* Inside the top-level elements handed back as spans: route points. */
    Points points;
    Buffer point_rejects, holes;
    /* Sizes at the last cut: what lies past them belongs to an unfinished element. */
    Py_ssize_t points_cut, point_rejects_cut, holes_cut, slow_cut, slow_text_cut;
    int8_t kinds[MAX_LEVEL];      /* element kind open at each level */
    Span routes[MAX_LEVEL];       /* sourceName of the WorkoutRoute open at that level */
} Scanner;

static inline int is_space(char c) { return SYNTAX[(unsigned char)c] & SPACE; }

static inline int is_name_end(char c) { return SYNTAX[(unsigned char)c] != 0; }

static int element_of(const char *name, Py_ssize_t length) {
    switch (length) {
    case 6: return memcmp(name, "Record", 6) == 0 ? E_RECORD : E_OTHER;
    case 13: return memcmp(name, "MetadataEntry", 13) == 0 ? E_METADATA : E_OTHER;
    case 32:
        return memcmp(name, "HeartRateVariabilityMetadataList", 32) == 0 ? E_HRV_LIST : E_OTHER;
    case 27: return memcmp(name, "InstantaneousBeatsPerMinute", 27) == 0 ? E_BEAT : E_OTHER;
    case 12: return memcmp(name, "WorkoutRoute", 12) == 0 ? E_ROUTE : E_OTHER;
    case 8: return memcmp(name, "Location", 8) == 0 ? E_LOCATION : E_OTHER;
    default: return E_OTHER;
    }
}

/* Which slot of `attrs` an attribute goes to for this element, or -1. */
static int slot_of(int element, const char *name, Py_ssize_t length) {
#define IS(text) (length == (Py_ssize_t)sizeof(text) - 1 && memcmp(name, text, length) == 0)
    switch (element) {
    case E_RECORD:
        switch (length) {
        case 4: return IS("type") ? TYPE : IS("unit") ? UNIT : -1;
        case 5: return IS("value") ? VALUE : -1;
        case 6: return IS("device") ? DEVICE : -1;
        case 7: return IS("endDate") ? ENDS : -1;
        case 9: return IS("startDate") ? STARTS : -1;
        case 10: return IS("sourceName") ? SOURCE : -1;
        case 12: return IS("creationDate") ? CREATED : -1;
        case 13: return IS("sourceVersion") ? VERSION : -1;
        default: return -1;
        }
    case E_METADATA: return IS("key") ? KEY : IS("value") ? META_VALUE : -1;
    case E_BEAT: return IS("bpm") ? BPM : IS("time") ? TIME : -1;
    case E_ROUTE: return IS("sourceName") ? ROUTE_SOURCE : -1;
    case E_LOCATION:
        switch (length) {
        case 4: return IS("date") ? DATE : -1;
        case 5: return IS("speed") ? SPEED : -1;
        case 6: return IS("course") ? COURSE : -1;
        case 8: return IS("latitude") ? LAT : IS("altitude") ? ALTITUDE : -1;
        case 9: return IS("longitude") ? LON : -1;
        case 16: return IS("verticalAccuracy") ? VERTICAL : -1;
        case 18: return IS("horizontalAccuracy") ? ACCURACY : -1;
        default: return -1;
        }
    default: return -1;
    }
#undef IS
}

/* Skip a comment, declaration or processing instruction at text[i] == '<'. Returns
 * the offset past it, -1 when the buffer ends first. */
static Py_ssize_t skip_other(const char *text, Py_ssize_t size, Py_ssize_t i) {
    Py_ssize_t j = i + 1;
    if (j + 2 < size && text[j] == '!' && text[j + 1] == '-' && text[j + 2] == '-') {
        for (Py_ssize_t k = j + 3; k + 2 < size; k++) {
            const char *dash = memchr(text + k, '-', size - 2 - k);
            if (!dash) return -1;
            k = dash - text;
            if (text[k + 1] == '-' && text[k + 2] == '>') return k + 3;
        }
        return -1;
    }
    /* Declarations end at '>' (an unclosed one, like iOS 16's broken ATTLIST, ends
     * where the next tag starts). */
    for (Py_ssize_t k = j; k < size; k++) {
        if (text[k] == '>') return k + 1;
        if (text[k] == '<') return k;
    }
    return -1;
}

/* The attributes of the elements that make rows, in the order Apple writes them:
 * each is first tried at the position the previous one ended, which skips the
 * byte-by-byte scan of names nearly always. */
typedef struct {
    const char *name;
    Py_ssize_t length;
    int slot;
} Expected;

#define NAME(text, slot) {text, sizeof(text) - 1, slot}
static const Expected RECORD_ORDER[] = {
    NAME("type", TYPE),           NAME("sourceName", SOURCE), NAME("sourceVersion", VERSION),
    NAME("device", DEVICE),       NAME("unit", UNIT),         NAME("creationDate", CREATED),
    NAME("startDate", STARTS),    NAME("endDate", ENDS),      NAME("value", VALUE),
    {NULL, 0, -1},
};
static const Expected METADATA_ORDER[] = {NAME("key", KEY), NAME("value", META_VALUE), {NULL, 0, -1}};
static const Expected BEAT_ORDER[] = {NAME("bpm", BPM), NAME("time", TIME), {NULL, 0, -1}};
static const Expected LOCATION_ORDER[] = {
    NAME("date", DATE),
    NAME("latitude", LAT),
    NAME("longitude", LON),
    NAME("altitude", ALTITUDE),
    NAME("horizontalAccuracy", ACCURACY),
    NAME("verticalAccuracy", VERTICAL),
    NAME("course", COURSE),
    NAME("speed", SPEED),
    {NULL, 0, -1},
};
#undef NAME

static const Expected *order_of(int element) {
    switch (element) {
    case E_RECORD: return RECORD_ORDER;
    case E_METADATA: return METADATA_ORDER;
    case E_BEAT: return BEAT_ORDER;
    case E_LOCATION: return LOCATION_ORDER;
    default: return NULL;
    }
}

/* Scan a start tag's attributes from text[j] to past its '>'; keep the wanted
 * ones (the first of a repeated name). Returns -1 when the buffer ends first. */
static Py_ssize_t scan_attributes(const char *text, Py_ssize_t size, Py_ssize_t j, int element,
                                  Span *attrs, int *empty) {
    const Expected *next = attrs ? order_of(element) : NULL;
    for (;;) {
        while (j < size && is_space(text[j])) j++;
        if (j >= size) return -1;
        if (next && next->name && j + next->length < size && text[j + next->length] == '=' &&
            memcmp(text + j, next->name, next->length) == 0) {
            /* The expected name, then '=': a quoted value nearly always follows. */
            Py_ssize_t at = j + next->length + 1;
            if (at < size && (text[at] == '"' || text[at] == '\'')) {
                const char *close = memchr(text + at + 1, text[at], size - at - 1);
                if (!close) return -1;
                if (!attrs[next->slot].at) {
                    attrs[next->slot].at = text + at + 1;
                    attrs[next->slot].length = close - (text + at + 1);
                }
                next++;
                j = close - text + 1;
                continue;
            }
        }
        if (text[j] == '>') return j + 1;
        if (text[j] == '/') {
            if (j + 1 >= size) return -1;
            if (text[j + 1] == '>') {
                *empty = 1;
                return j + 2;
            }
            j++;
            continue;
        }
        Py_ssize_t name = j;
        while (j < size && !is_name_end(text[j])) j++;
        Py_ssize_t name_length = j - name;
        while (j < size && is_space(text[j])) j++;
        if (j >= size) return -1;
        if (text[j] != '=') { /* not well-formed: skip the stray character */
            if (name_length == 0) j++;
            continue;
        }
        j++;
        while (j < size && is_space(text[j])) j++;
        if (j >= size) return -1;
        char quote = text[j];
        if (quote != '"' && quote != '\'') continue;
        const char *close = memchr(text + j + 1, quote, size - j - 1);
        if (!close) return -1;
        int slot = attrs ? slot_of(element, text + name, name_length) : -1;
        if (slot >= 0 && !attrs[slot].at) {
            attrs[slot].at = text + j + 1;
            attrs[slot].length = close - (text + j + 1);
        }
        j = close - text + 1;
    }
}

/* The value as XML reads it: the span itself, or its unescaped copy in `scratch`. */
static Span plain(Span value, Buffer *scratch) {
    if (!needs_unescape(value.at, value.length)) return value;
    scratch->size = 0;
    if (put_value(scratch, value.at, value.length, 0) < 0) return (Span){NULL, -1};
    return (Span){scratch->data, scratch->size};
}

static int add_metadata(Scanner *s, Span *attrs) {
    if (!attrs[KEY].at || !attrs[META_VALUE].at) return 0;
    Py_ssize_t key = s->meta.size;
    if (put_value(&s->meta, attrs[KEY].at, attrs[KEY].length, 1) < 0) return -1;
    Py_ssize_t key_length = s->meta.size - key;
    for (Py_ssize_t k = 0; k < s->n_entries; k++) { /* a repeated key: the later wins */
        Entry *e = &s->entries[k];
        if (e->alive && e->key_length == key_length &&
            memcmp(s->meta.data + e->key, s->meta.data + key, key_length) == 0)
            e->alive = 0;
    }
    Py_ssize_t value = s->meta.size;
    if (put_value(&s->meta, attrs[META_VALUE].at, attrs[META_VALUE].length, 1) < 0) return -1;
    if (s->n_entries == s->entries_capacity) {
        Py_ssize_t capacity = s->entries_capacity ? 2 * s->entries_capacity : 16;
        Entry *grown = PyMem_RawRealloc(s->entries, capacity * sizeof(Entry));
        if (!grown) return -1;
        s->entries = grown;
        s->entries_capacity = capacity;
    }
    s->entries[s->n_entries++] = (Entry){key, key_length, value, s->meta.size - value, 1};
    return 0;
}

static int add_beat(Scanner *s, Span *attrs) {
    Buffer *b = &s->beats;
    if (grow(b, 16) < 0) return -1;
    if (s->n_beats++) put_char(b, ',');
    put_char(b, '{');
    int first = 1;
    if (attrs[BPM].at) {
        Span bpm = plain(attrs[BPM], &s->scratch);
        double ignored;
        int slow;
        if (!bpm.at) return -1;
        if (parse_number(bpm.at, bpm.length, &ignored, &slow)) {
            if (append(b, "\"bpm\":", 6) < 0 || put_json_number(b, bpm.at, bpm.length) < 0)
                return -1;
            first = 0;
        }
    }
    if (attrs[TIME].at) {
        if (append(b, first ? "\"time\":" : ",\"time\":", first ? 7 : 8) < 0 ||
            put_value(b, attrs[TIME].at, attrs[TIME].length, 1) < 0)
            return -1;
    }
    return append(b, "}", 1);
}

/* A number C does not convert exactly: the caller converts its text. */
static int add_slow(Scanner *s, int64_t column, Py_ssize_t row, Span text) {
    int64_t where[3] = {column, row, s->slow_text.size};
    if (append(&s->slow, (const char *)where, sizeof where) < 0) return -1;
    return append(&s->slow_text, text.at, text.length);
}

static int reject(Scanner *s, int64_t kind) {
    int64_t pair[2] = {kind, s->offset};
    return append(&s->rejects, (const char *)pair, sizeof pair);
}

static int32_t lookup_type(Scanner *s, Span type) {
    int added;
    int32_t t = lookup(&s->types, type.at, type.length, &added);
    if (t < 0 || !added) return t;
    if (t >= s->type_capacity) {
        Py_ssize_t capacity = s->type_capacity ? 2 * s->type_capacity : 64;
        int32_t *canonical = PyMem_RawRealloc(s->type_canonical, capacity * sizeof(int32_t));
        if (canonical) s->type_canonical = canonical;
        uint8_t *sleep = PyMem_RawRealloc(s->type_sleep, capacity);
        if (sleep) s->type_sleep = sleep;
        if (!canonical || !sleep) return -2;
        s->type_capacity = capacity;
    }
    Py_ssize_t length;
    const char *text = key_of(&s->types.unique, t, &length);
    s->type_sleep[t] =
        length == s->sleep_type_length && memcmp(text, s->sleep_type, length) == 0;
    s->type_canonical[t] = -1;
    for (Py_ssize_t k = 0; k < s->n_canonical; k++) {
        if (s->canonical_type_lengths[k] == length &&
            memcmp(s->canonical_types[k], text, length) == 0) {
            s->type_canonical[t] = (int32_t)k;
            break;
        }
    }
    return t;
}

static inline int32_t lookup_optional(Dictionary *d, Span value) {
    int added;
    return value.at ? lookup(d, value.at, value.length, &added) : -1;
}

static inline int put_key(Buffer *b, int *first, const char *key) {
    Py_ssize_t length = (Py_ssize_t)strlen(key);
    if (grow(b, length + 4) < 0) return -1;
    if (!*first) put_char(b, ',');
    *first = 0;
    put_char(b, '"');
    put(b, key, length);
    put(b, "\":", 2);
    return 0;
}

static inline int put_field(Buffer *b, int *first, const char *key, Span value) {
    if (!value.at) return 0;
    if (put_key(b, first, key) < 0) return -1;
    return put_value(b, value.at, value.length, 1);
}

/* Whether the unit as written is not the canonical unit of the Record's type. */
static int unit_differs(Scanner *s, int32_t type, int32_t unit) {
    int32_t k = s->type_canonical[type];
    if (k < 0 || unit < 0) return 0;
    Py_ssize_t length;
    const char *text = key_of(&s->units.unique, unit, &length);
    return length != s->canonical_unit_lengths[k] ||
           memcmp(text, s->canonical_units[k], length) != 0;
}

/* The `extra` JSON of the open Record. */
static int put_extra(Scanner *s, Buffer *b, int health, int32_t type, int32_t unit, int number) {
    Span *a = s->attrs;
    int first = 1;
    if (append(b, "{", 1) < 0 || put_field(b, &first, "source_version", a[VERSION]) < 0 ||
        put_field(b, &first, "creation_date", a[CREATED]) < 0)
        return -1;
    if (health && unit_differs(s, type, unit) && put_field(b, &first, "unit", a[UNIT]) < 0)
        return -1;
    if (health && !number && put_field(b, &first, "category", a[VALUE]) < 0) return -1;
    int any = 0;
    for (Py_ssize_t k = 0; k < s->n_entries; k++) {
        Entry *e = &s->entries[k];
        if (!e->alive) continue;
        if (any) {
            if (append(b, ",", 1) < 0) return -1;
        } else if (put_key(b, &first, "metadata") < 0 || append(b, "{", 1) < 0)
            return -1;
        any = 1;
        if (grow(b, e->key_length + e->value_length + 1) < 0) return -1;
        put(b, s->meta.data + e->key, e->key_length);
        put_char(b, ':');
        put(b, s->meta.data + e->value, e->value_length);
    }
    if (any && append(b, "}", 1) < 0) return -1;
    if (health && s->n_beats) {
        if (put_key(b, &first, "beats") < 0 || grow(b, s->beats.size + 2) < 0) return -1;
        put_char(b, '[');
        put(b, s->beats.data, s->beats.size);
        put_char(b, ']');
    }
    return append(b, "}", 1);
}

/* The open top-level Record is complete: one row, or one reject. */
static int commit(Scanner *s) {
    Span *a = s->attrs;
    int64_t start = 0, end = 0;
    int zone = 0, end_zone, dates = 1;
    for (int k = STARTS; k <= ENDS; k++) {
        Span date = a[k].at ? plain(a[k], &s->scratch) : (Span){NULL, 0};
        if (a[k].at && !date.at) return -1;
        if (!date.at || !parse_date(date.at, date.length, k == STARTS ? &start : &end,
                                    k == STARTS ? &zone : &end_zone))
            dates = 0;
    }
    int32_t type = a[TYPE].at ? lookup_type(s, a[TYPE]) : -1;
    if (type == -2) return -1;
    int sleep = type >= 0 && s->type_sleep[type];
    if (!dates) return reject(s, sleep ? REJECT_SLEEP_DATES : REJECT_DATES);
    if (type < 0) return reject(s, REJECT_NO_TYPE);
    Rows *r = sleep ? &s->sleep : &s->health;
    if (reserve_row(r) < 0) return -1;
    Py_ssize_t n = r->n;
    r->start[n] = start;
    r->end[n] = end;
    r->zone[n] = (int16_t)zone;
    r->offset[n] = s->offset;
    r->type[n] = type;
    r->source[n] = lookup_optional(&s->sources, a[SOURCE]);
    r->device[n] = lookup_optional(&s->devices, a[DEVICE]);
    r->unit[n] = sleep ? -1 : lookup_optional(&s->units, a[UNIT]);
    r->text[n] = sleep ? lookup_optional(&s->texts, a[VALUE]) : -1;
    if (r->source[n] == -2 || r->device[n] == -2 || r->unit[n] == -2 || r->text[n] == -2)
        return -1;
    r->value[n] = 0.0;
    r->value_ok[n] = 0;
    if (!sleep && a[VALUE].at) {
        Span value = plain(a[VALUE], &s->scratch);
        int slow;
        if (!value.at) return -1;
        r->value_ok[n] = (uint8_t)parse_number(value.at, value.length, &r->value[n], &slow);
        if (r->value_ok[n] && slow && add_slow(s, SLOW_VALUE, n, value) < 0) return -1;
    }
    if (put_extra(s, &r->extra, !sleep, type, r->unit[n], r->value_ok[n]) < 0) return -1;
    if (r->extra.size > INT32_MAX) return -1;
    r->extra_ends[n + 1] = (int32_t)r->extra.size;
    r->n++;
    return 0;
}

/* A number attribute of a route point: 1 when it is one (then in *value). */
static int point_number(Scanner *s, Span raw, int column, Py_ssize_t row, double *value) {
    if (!raw.at) return 0;
    Span text = plain(raw, &s->scratch);
    int slow;
    if (!text.at) return -1;
    if (!parse_number(text.at, text.length, value, &slow)) return 0;
    if (slow && add_slow(s, column, row, text) < 0) return -1;
    return 1;
}

static int put_number_field(Scanner *s, Buffer *b, int *first, const char *key, Span raw) {
    if (!raw.at) return 0;
    Span text = plain(raw, &s->scratch);
    double ignored;
    int slow;
    if (!text.at) return -1;
    if (!parse_number(text.at, text.length, &ignored, &slow)) return 0;
    if (put_key(b, first, key) < 0) return -1;
    return put_json_number(b, text.at, text.length);
}

/* A <Location> in a WorkoutRoute: one point, or a reject without a usable date,
 * latitude or longitude. */
static int add_point(Scanner *s, Span *attrs, Py_ssize_t at) {
    Points *p = &s->points;
    int64_t span = s->spans.size / (3 * sizeof(int64_t)); /* the open span's index */
    if (reserve_point(p) < 0) return -1;
    Py_ssize_t n = p->n;
    int64_t micros = 0;
    int zone = 0, dated = 0;
    if (attrs[DATE].at) {
        Span date = plain(attrs[DATE], &s->scratch);
        if (!date.at) return -1;
        dated = parse_date(date.at, date.length, &micros, &zone);
    }
    Py_ssize_t slow = s->slow.size, slow_text = s->slow_text.size;
    int lat = point_number(s, attrs[LAT], SLOW_LAT, n, &p->lat[n]);
    int lon = point_number(s, attrs[LON], SLOW_LON, n, &p->lon[n]);
    if (lat < 0 || lon < 0) return -1;
    /* A position off the globe is no position (and the vault's CHECK refuses it). */
    if (lat && !(p->lat[n] >= -90.0 && p->lat[n] <= 90.0)) lat = 0;
    if (lon && !(p->lon[n] >= -180.0 && p->lon[n] <= 180.0)) lon = 0;
    if (!dated || !lat || !lon) {
        s->slow.size = slow; /* this row number goes to the next point */
        s->slow_text.size = slow_text;
        int64_t pair[2] = {span, at};
        return append(&s->point_rejects, (const char *)pair, sizeof pair);
    }
    int accuracy = point_number(s, attrs[ACCURACY], SLOW_ACCURACY, n, &p->accuracy[n]);
    int altitude = point_number(s, attrs[ALTITUDE], SLOW_ALTITUDE, n, &p->altitude[n]);
    int speed = point_number(s, attrs[SPEED], SLOW_SPEED, n, &p->speed[n]);
    if (accuracy < 0 || altitude < 0 || speed < 0) return -1;
    p->has_accuracy[n] = (uint8_t)accuracy;
    p->has_altitude[n] = (uint8_t)altitude;
    p->has_speed[n] = (uint8_t)speed;
    p->at[n] = micros;
    p->zone[n] = (int16_t)zone;
    p->offset[n] = at;
    p->span[n] = (int32_t)span;
    p->source[n] = lookup_optional(&s->sources, s->routes[s->level - 1]);
    if (p->source[n] == -2) return -1;
    int first = 1;
    Buffer *b = &p->extra;
    if (append(b, "{", 1) < 0 || put_number_field(s, b, &first, "course", attrs[COURSE]) < 0 ||
        put_number_field(s, b, &first, "vertical_accuracy", attrs[VERTICAL]) < 0 ||
        append(b, "}", 1) < 0)
        return -1;
    if (b->size > INT32_MAX) return -1;
    p->extra_ends[n + 1] = (int32_t)b->size;
    p->n++;
    return 0;
}

static int add_span(Scanner *s, Py_ssize_t end) {
    int64_t triple[3] = {s->span, s->span_start, end};
    return append(&s->spans, (const char *)triple, sizeof triple);
}

static int span_of(Scanner *s, const char *name, Py_ssize_t length) {
    for (Py_ssize_t k = 0; k < s->n_span_names; k++)
        if (s->span_name_lengths[k] == length && memcmp(s->span_names[k], name, length) == 0)
            return (int)k;
    return -1;
}

/* A start or empty-element tag at level s->level, attributes already in `attrs`. */
static int opening(Scanner *s, int element, const char *name, Py_ssize_t name_length,
                   Py_ssize_t at, Py_ssize_t end, int empty, Span *attrs) {
    if (s->level == 1) {
        if (element == E_RECORD) {
            s->top = TOP_RECORD;
            s->offset = at;
            memcpy(s->attrs, attrs, sizeof s->attrs);
            s->meta.size = s->beats.size = 0;
            s->n_entries = s->n_beats = 0;
            s->second = E_OTHER;
            if (empty) return commit(s);
        } else if ((s->span = span_of(s, name, name_length)) >= 0) {
            s->top = TOP_SPAN;
            s->span_start = at;
            s->kinds[1] = (int8_t)element;
            if (empty) return add_span(s, end);
        } else
            s->top = TOP_SKIP;
    } else if (s->top == TOP_SPAN && s->level >= 2 && s->level < MAX_LEVEL) {
        int result = 0;
        if (element == E_LOCATION && s->kinds[s->level - 1] == E_ROUTE) {
            int64_t hole[2] = {at, end}; /* read here: the caller's parse can skip it */
            result = add_point(s, attrs, at);
            if (result == 0 && empty) result = append(&s->holes, (const char *)hole, sizeof hole);
        }
        if (!empty) {
            s->kinds[s->level] = (int8_t)element;
            if (element == E_ROUTE) s->routes[s->level] = attrs[ROUTE_SOURCE];
        }
        return result;
    } else if (s->level == 2 && s->top == TOP_RECORD) {
        if (element == E_METADATA) return add_metadata(s, attrs);
        if (!empty) s->second = element;
    } else if (s->level == 3 && s->top == TOP_RECORD && s->second == E_HRV_LIST &&
               element == E_BEAT)
        return add_beat(s, attrs);
    return 0;
}

/* An end tag, after which s->level elements are open. */
static int closing(Scanner *s, Py_ssize_t end) {
    if (s->level == 1) {
        int top = s->top;
        s->top = TOP_NONE;
        if (top == TOP_RECORD) return commit(s);
        if (top == TOP_SPAN) return add_span(s, end);
    } else if (s->level == 2)
        s->second = E_OTHER;
    return 0;
}

/* One tag at text[i] == '<'. Returns the offset past it, -1 if the buffer ends
 * inside it, -2 when out of memory. Sets *kind. */
static Py_ssize_t tag(Scanner *s, Py_ssize_t i, int *kind) {
    const char *text = s->text;
    Py_ssize_t size = s->size, j = i + 1;
    if (j >= size) return -1;
    if (text[j] == '!' || text[j] == '?') {
        *kind = OTHER;
        return skip_other(text, size, i);
    }
    if (text[j] == '/') {
        *kind = END;
        const char *close = memchr(text + j, '>', size - j);
        if (!close) return -1;
        s->level--;
        return closing(s, close - text + 1) < 0 ? -2 : close - text + 1;
    }
    Py_ssize_t name = j;
    while (j < size && !is_name_end(text[j])) j++;
    int element = element_of(text + name, j - name);
    /* Only the elements that make rows have their attributes kept. */
    int in_span = s->top == TOP_SPAN && s->level >= 2 && s->level < MAX_LEVEL;
    int wanted = (s->level == 1 && element == E_RECORD) ||
                 (s->level == 2 && s->top == TOP_RECORD && element == E_METADATA) ||
                 (s->level == 3 && s->top == TOP_RECORD && element == E_BEAT) ||
                 (in_span && element == E_ROUTE) ||
                 (in_span && element == E_LOCATION && s->kinds[s->level - 1] == E_ROUTE);
    Span attrs[N_RECORD];
    if (wanted)
        for (int k = 0; k < N_RECORD; k++) attrs[k].at = NULL;
    int empty = 0;
    Py_ssize_t end = scan_attributes(text, size, j, element, wanted ? attrs : NULL, &empty);
    if (end < 0) return -1;
    *kind = empty ? EMPTY : START;
    if (opening(s, element, text + name, j - name, i, end, empty, attrs) < 0) return -2;
    if (!empty) s->level++;
    return end;
}

static void free_scanner(Scanner *s) {
    free_rows(&s->health);
    free_rows(&s->sleep);
    free_dictionary(&s->types);
    free_dictionary(&s->units);
    free_dictionary(&s->sources);
    free_dictionary(&s->devices);
    free_dictionary(&s->texts);
    PyMem_RawFree(s->type_canonical);
    PyMem_RawFree(s->type_sleep);
    PyMem_RawFree(s->meta.data);
    PyMem_RawFree(s->beats.data);
    PyMem_RawFree(s->entries);
    PyMem_RawFree(s->rejects.data);
    PyMem_RawFree(s->spans.data);
    PyMem_RawFree(s->slow.data);
    PyMem_RawFree(s->slow_text.data);
    PyMem_RawFree(s->scratch.data);
    free_points(&s->points);
    PyMem_RawFree(s->point_rejects.data);
    PyMem_RawFree(s->holes.data);
    PyMem_RawFree(s->canonical_types);
    PyMem_RawFree(s->canonical_units);
    PyMem_RawFree(s->canonical_type_lengths);
    PyMem_RawFree(s->canonical_unit_lengths);
    PyMem_RawFree(s->span_names);
    PyMem_RawFree(s->span_name_lengths);
}

/* Keep pointers to the configuration's bytes (they outlive the call). */
static int configure(Scanner *s, PyObject *canonical, PyObject *span_names) {
    Py_ssize_t n = PyTuple_GET_SIZE(canonical), m = PyTuple_GET_SIZE(span_names);
    s->n_canonical = n;
    s->n_span_names = m;
    s->canonical_types = PyMem_RawCalloc(n + 1, sizeof(char *));
    s->canonical_units = PyMem_RawCalloc(n + 1, sizeof(char *));
    s->canonical_type_lengths = PyMem_RawCalloc(n + 1, sizeof(Py_ssize_t));
    s->canonical_unit_lengths = PyMem_RawCalloc(n + 1, sizeof(Py_ssize_t));
    s->span_names = PyMem_RawCalloc(m + 1, sizeof(char *));
    s->span_name_lengths = PyMem_RawCalloc(m + 1, sizeof(Py_ssize_t));
    if (!s->canonical_types || !s->canonical_units || !s->canonical_type_lengths ||
        !s->canonical_unit_lengths || !s->span_names || !s->span_name_lengths) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *pair = PyTuple_GET_ITEM(canonical, k);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            !PyBytes_Check(PyTuple_GET_ITEM(pair, 0)) ||
            !PyBytes_Check(PyTuple_GET_ITEM(pair, 1))) {
            PyErr_SetString(PyExc_TypeError, "canonical must hold (bytes, bytes) pairs");
            return -1;
        }
        s->canonical_types[k] = PyBytes_AS_STRING(PyTuple_GET_ITEM(pair, 0));
        s->canonical_type_lengths[k] = PyBytes_GET_SIZE(PyTuple_GET_ITEM(pair, 0));
        s->canonical_units[k] = PyBytes_AS_STRING(PyTuple_GET_ITEM(pair, 1));
        s->canonical_unit_lengths[k] = PyBytes_GET_SIZE(PyTuple_GET_ITEM(pair, 1));
    }
    for (Py_ssize_t k = 0; k < m; k++) {
        PyObject *name = PyTuple_GET_ITEM(span_names, k);
        if (!PyBytes_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "spans must be bytes");
            return -1;
        }
        s->span_names[k] = PyBytes_AS_STRING(name);
        s->span_name_lengths[k] = PyBytes_GET_SIZE(name);
    }
    return 0;
}

static PyObject *slow_values(Scanner *s) {
    Py_ssize_t n = s->slow.size / 24;
    PyObject *values = PyTuple_New(n);
    if (!values) return NULL;
    const int64_t *where = (const int64_t *)s->slow.data;
    for (Py_ssize_t k = 0; k < n; k++) {
        int64_t start = where[3 * k + 2];
        int64_t end = k + 1 < n ? where[3 * k + 5] : s->slow_text.size;
        PyObject *item = Py_BuildValue("(LLs#)", (long long)where[3 * k],
                                       (long long)where[3 * k + 1], s->slow_text.data + start,
                                       (Py_ssize_t)(end - start));
        if (!item) {
            Py_DECREF(values);
            return NULL;
        }
        PyTuple_SET_ITEM(values, k, item);
    }
    return values;
}

static PyObject *records(PyObject *self, PyObject *args) {
    Py_buffer view, sleep_type;
    int level, final;
    PyObject *canonical, *span_names, *result = NULL;
    if (!PyArg_ParseTuple(args, "y*ipy*O!O!", &view, &level, &final, &sleep_type, &PyTuple_Type,
                          &canonical, &PyTuple_Type, &span_names))
        return NULL;
    Scanner s;
    memset(&s, 0, sizeof s);
    s.text = view.buf;
    s.size = view.len;
    s.level = level;
    s.sleep_type = sleep_type.buf;
    s.sleep_type_length = sleep_type.len;
    if (configure(&s, canonical, span_names) < 0) goto done;
    Py_ssize_t i = 0, cut = 0, stop = 0;
    int cut_level = level, failed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        const char *lt = memchr(s.text + i, '<', s.size - i);
        if (!lt) {
            stop = s.size;
            break;
        }
        i = lt - s.text;
        int kind = OTHER;
        Py_ssize_t end = tag(&s, i, &kind);
        if (end == -2) {
            failed = 1;
            break;
        }
        if (end < 0) {
            stop = i;
            break;
        }
        /* Rows are only made when a top-level element closes, so no row lies
         * past the last cut; route points are made inside their element, so
         * those past it are dropped below (the next call reads them again). */
        if (kind != OTHER && s.level <= 1) {
            cut = end;
            cut_level = s.level;
            s.points_cut = s.points.n;
            s.point_rejects_cut = s.point_rejects.size;
            s.holes_cut = s.holes.size;
            s.slow_cut = s.slow.size;
            s.slow_text_cut = s.slow_text.size;
        }
        i = end;
    }
    s.points.n = s.points_cut;
    s.points.extra.size = s.points.n ? s.points.extra_ends[s.points.n] : 0;
    s.point_rejects.size = s.point_rejects_cut;
    s.holes.size = s.holes_cut;
    s.slow.size = s.slow_cut;
    s.slow_text.size = s.slow_text_cut;
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *dictionaries = Py_BuildValue(
        "(NNNNN)", dictionary_values(&s.types), dictionary_values(&s.units),
        dictionary_values(&s.sources), dictionary_values(&s.devices), dictionary_values(&s.texts));
    if (!dictionaries) goto done;
    result = Py_BuildValue("(niNNNNNNNNN)", final ? stop : cut, final ? s.level : cut_level,
                           rows_tuple(&s.health), rows_tuple(&s.sleep), dictionaries,
                           bytes_of(s.rejects.data, s.rejects.size),
                           bytes_of(s.spans.data, s.spans.size), slow_values(&s),
                           points_tuple(&s.points),
                           bytes_of(s.point_rejects.data, s.point_rejects.size),
                           bytes_of(s.holes.data, s.holes.size));
done:
    free_scanner(&s);
    PyBuffer_Release(&view);
    PyBuffer_Release(&sleep_type);
    return result;
}

static PyMethodDef methods[] = {
    {"check", check, METH_VARARGS, "Forbidden control characters and the first non-UTF-8 byte."},
    {"records", records, METH_VARARGS, "Apple Health Records of a buffer of whole elements."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_xmltok", NULL, -1, methods};

PyMODINIT_FUNC PyInit__xmltok(void) {
    init_classes();
    return PyModule_Create(&module);
}
