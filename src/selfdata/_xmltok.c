/*
 * _xmltok: one pass over a buffer of machine-written XML, in C.
 *
 * selfdata.xmlscan uses it when it is built (it is an optional extension: a
 * machine without a C compiler falls back to the numpy/polars path, which
 * yields the same rows, slower). It never resolves entities or DTDs.
 *
 * tokenize(buffer, elements, names) -> tuple
 *   buffer:   bytes of XML, starting at a '<' (or at the file's start)
 *   elements: tuple of bytes, the element names to number
 *   names:    tuple of bytes, the attribute names wanted
 * returns (count, used, starts, kinds, ids, columns)
 *   count:  number of complete tags found
 *   used:   bytes consumed (the start of the first incomplete tag, if any)
 *   starts: int64[count] offset of each tag's '<'
 *   kinds:  int8[count] 0 start tag, 1 end tag, 2 empty-element tag, 3 other
 *   ids:    int16[count] index of the tag's element name in `elements`, or -1
 *   columns: one (offsets int64[count+1], data bytes, present uint8[count],
 *            special uint8[count]) per wanted name: the attribute's value for
 *            each tag, Arrow-style; `special` marks values holding '&' or a
 *            tab/newline/CR (to be unescaped and normalised by the caller).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { START = 0, END = 1, EMPTY = 2, OTHER = 3 };

typedef struct {
    char *data;
    Py_ssize_t size, capacity;
} Buffer;

static inline int buffer_reserve(Buffer *b, Py_ssize_t extra) {
    if (b->size + extra <= b->capacity) return 0;
    Py_ssize_t capacity = b->capacity ? b->capacity : 4096;
    while (capacity < b->size + extra) capacity *= 2;
    char *grown = PyMem_RawRealloc(b->data, capacity);
    if (!grown) return -1;
    b->data = grown;
    b->capacity = capacity;
    return 0;
}

static inline int buffer_append(Buffer *b, const char *text, Py_ssize_t length) {
    if (buffer_reserve(b, length) < 0) return -1;
    memcpy(b->data + b->size, text, length);
    b->size += length;
    return 0;
}

static inline int is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

static inline int is_name_end(char c) {
    return is_space(c) || c == '>' || c == '/' || c == '=' || c == '<';
}

typedef struct {
    Py_ssize_t n_names;
    const char **names;
    Py_ssize_t *name_lengths;
    Buffer *data;           /* per name: the values, one after the other */
    Buffer *offsets;        /* per name: int64 offsets, Arrow-style */
    Buffer *present;        /* per name: uint8 per tag */
    Buffer *special;        /* per name: uint8 per tag */
    int8_t *seen;           /* per name: set for the current tag */
} Columns;

/* Close the current tag's row: every wanted name not seen gets an empty, absent value. */
static int end_row(Columns *c) {
    for (Py_ssize_t k = 0; k < c->n_names; k++) {
        if (!c->seen[k]) {
            int64_t offset = (int64_t)c->data[k].size;
            char zero = 0;
            if (buffer_append(&c->offsets[k], (char *)&offset, 8) < 0) return -1;
            if (buffer_append(&c->present[k], &zero, 1) < 0) return -1;
            if (buffer_append(&c->special[k], &zero, 1) < 0) return -1;
        }
        c->seen[k] = 0;
    }
    return 0;
}

static int add_value(Columns *c, const char *name, Py_ssize_t name_length, const char *value,
                     Py_ssize_t length) {
    for (Py_ssize_t k = 0; k < c->n_names; k++) {
        if (c->seen[k] || c->name_lengths[k] != name_length) continue;
        if (memcmp(c->names[k], name, name_length) != 0) continue;
        char one = 1, special = 0;
        for (Py_ssize_t i = 0; i < length; i++) {
            char ch = value[i];
            if (ch == '&' || ch == '\t' || ch == '\n' || ch == '\r') { special = 1; break; }
        }
        if (buffer_append(&c->data[k], value, length) < 0) return -1;
        int64_t offset = (int64_t)c->data[k].size;
        if (buffer_append(&c->offsets[k], (char *)&offset, 8) < 0) return -1;
        if (buffer_append(&c->present[k], &one, 1) < 0) return -1;
        if (buffer_append(&c->special[k], &special, 1) < 0) return -1;
        c->seen[k] = 1;
        return 0;
    }
    return 0;
}

/* Scan one tag starting at text[i] == '<'. Returns the offset just past it, or -1
 * when the buffer ends inside it. Sets *kind, the element name and the values. */
static Py_ssize_t scan_tag(const char *text, Py_ssize_t size, Py_ssize_t i, int *kind,
                           Py_ssize_t *name_at, Py_ssize_t *name_length, Columns *c) {
    Py_ssize_t j = i + 1;
    *name_at = j;
    *name_length = 0;
    if (j >= size) return -1;
    if (text[j] == '!' || text[j] == '?') {
        *kind = OTHER;
        if (j + 2 < size && text[j] == '!' && text[j + 1] == '-' && text[j + 2] == '-') {
            const char *close = NULL;
            for (Py_ssize_t k = j + 3; k + 2 < size; k++) {
                if (text[k] == '-' && text[k + 1] == '-' && text[k + 2] == '>') {
                    close = text + k;
                    break;
                }
            }
            return close ? (close - text) + 3 : -1;
        }
        /* Declarations and processing instructions end at '>' (an unclosed one,
         * like iOS 16's broken ATTLIST, ends where the next tag starts). */
        for (Py_ssize_t k = j; k < size; k++) {
            if (text[k] == '>') return k + 1;
            if (text[k] == '<') return k;
        }
        return -1;
    }
    if (text[j] == '/') {
        *kind = END;
        j++;
        *name_at = j;
        while (j < size && !is_name_end(text[j])) j++;
        *name_length = j - *name_at;
        while (j < size && text[j] != '>') j++;
        return j < size ? j + 1 : -1;
    }
    *kind = START;
    while (j < size && !is_name_end(text[j])) j++;
    *name_length = j - *name_at;
    for (;;) {
        while (j < size && is_space(text[j])) j++;
        if (j >= size) return -1;
        if (text[j] == '>') return j + 1;
        if (text[j] == '/') {
            if (j + 1 >= size) return -1;
            if (text[j + 1] == '>') {
                *kind = EMPTY;
                return j + 2;
            }
            j++;
            continue;
        }
        Py_ssize_t attribute = j;
        while (j < size && !is_name_end(text[j])) j++;
        Py_ssize_t attribute_length = j - attribute;
        while (j < size && is_space(text[j])) j++;
        if (j >= size) return -1;
        if (text[j] != '=') {  /* not well-formed: skip the stray character */
            if (attribute_length == 0) j++;
            continue;
        }
        j++;
        while (j < size && is_space(text[j])) j++;
        if (j >= size) return -1;
        char quote = text[j];
        if (quote != '"' && quote != '\'') continue;
        Py_ssize_t value = ++j;
        while (j < size && text[j] != quote) j++;
        if (j >= size) return -1;
        if (c && add_value(c, text + attribute, attribute_length, text + value, j - value) < 0)
            return -2;
        j++;
    }
}

static PyObject *bytes_of(Buffer *b) {
    return PyBytes_FromStringAndSize(b->data ? b->data : "", b->size);
}

static int16_t element_id(const char **elements, Py_ssize_t *lengths, Py_ssize_t n,
                          const char *name, Py_ssize_t length) {
    for (Py_ssize_t k = 0; k < n; k++) {
        if (lengths[k] == length && memcmp(elements[k], name, length) == 0) return (int16_t)k;
    }
    return -1;
}

static PyObject *tokenize(PyObject *self, PyObject *args) {
    Py_buffer view;
    PyObject *elements, *names;
    if (!PyArg_ParseTuple(args, "y*O!O!", &view, &PyTuple_Type, &elements, &PyTuple_Type, &names))
        return NULL;
    const char *text = view.buf;
    Py_ssize_t size = view.len;
    Columns c = {0};
    c.n_names = PyTuple_GET_SIZE(names);
    c.names = PyMem_RawCalloc(c.n_names + 1, sizeof(char *));
    c.name_lengths = PyMem_RawCalloc(c.n_names + 1, sizeof(Py_ssize_t));
    c.data = PyMem_RawCalloc(c.n_names + 1, sizeof(Buffer));
    c.offsets = PyMem_RawCalloc(c.n_names + 1, sizeof(Buffer));
    c.present = PyMem_RawCalloc(c.n_names + 1, sizeof(Buffer));
    c.special = PyMem_RawCalloc(c.n_names + 1, sizeof(Buffer));
    c.seen = PyMem_RawCalloc(c.n_names + 1, 1);
    Buffer starts = {0}, kinds = {0}, ids = {0};
    Py_ssize_t n_elements = PyTuple_GET_SIZE(elements);
    const char **element_names = PyMem_RawCalloc(n_elements + 1, sizeof(char *));
    Py_ssize_t *element_lengths = PyMem_RawCalloc(n_elements + 1, sizeof(Py_ssize_t));
    PyObject *result = NULL;
    if (!element_names || !element_lengths) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < n_elements; k++) {
        PyObject *item = PyTuple_GET_ITEM(elements, k);
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "elements must be bytes");
            goto done;
        }
        element_names[k] = PyBytes_AS_STRING(item);
        element_lengths[k] = PyBytes_GET_SIZE(item);
    }
    if (!c.names || !c.name_lengths || !c.data || !c.offsets || !c.present || !c.special ||
        !c.seen) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < c.n_names; k++) {
        PyObject *item = PyTuple_GET_ITEM(names, k);
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "names must be bytes");
            goto done;
        }
        c.names[k] = PyBytes_AS_STRING(item);
        c.name_lengths[k] = PyBytes_GET_SIZE(item);
        int64_t zero = 0;
        /* Room for a tag every 32 bytes and values a quarter of the text: few reallocs. */
        if (buffer_reserve(&c.offsets[k], 8 * (size / 32 + 2)) < 0 ||
            buffer_reserve(&c.present[k], size / 32 + 2) < 0 ||
            buffer_reserve(&c.special[k], size / 32 + 2) < 0 ||
            buffer_reserve(&c.data[k], size / 4 + 16) < 0 ||
            buffer_append(&c.offsets[k], (char *)&zero, 8) < 0)
            goto nomemory;
    }
    if (buffer_reserve(&starts, 8 * (size / 32 + 2)) < 0 ||
        buffer_reserve(&kinds, size / 32 + 2) < 0 || buffer_reserve(&ids, 2 * (size / 32 + 2)) < 0)
        goto nomemory;
    Py_ssize_t count = 0, used = 0, i = 0;
    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        const char *lt = memchr(text + i, '<', size - i);
        if (!lt) { used = size; break; }
        i = lt - text;
        int kind;
        Py_ssize_t name_at, name_length;
        Py_ssize_t end = scan_tag(text, size, i, &kind, &name_at, &name_length, &c);
        if (end == -2) { count = -1; break; }
        if (end < 0) {
            /* Incomplete tag: forget any values it added, leave it for the next call. */
            for (Py_ssize_t k = 0; k < c.n_names; k++) {
                if (c.seen[k]) {
                    c.offsets[k].size -= 8;
                    c.present[k].size -= 1;
                    c.special[k].size -= 1;
                    int64_t last;
                    memcpy(&last, c.offsets[k].data + c.offsets[k].size - 8, 8);
                    c.data[k].size = (Py_ssize_t)last;
                    c.seen[k] = 0;
                }
            }
            used = i;
            break;
        }
        int64_t start = i;
        int8_t k8 = (int8_t)kind;
        int16_t id = element_id(element_names, element_lengths, n_elements, text + name_at,
                                name_length);
        if (buffer_append(&starts, (char *)&start, 8) < 0 ||
            buffer_append(&kinds, (char *)&k8, 1) < 0 ||
            buffer_append(&ids, (char *)&id, 2) < 0 || end_row(&c) < 0) {
            count = -1;
            break;
        }
        count++;
        i = end;
    }
    Py_END_ALLOW_THREADS
    if (count < 0) goto nomemory;
    PyObject *columns = PyTuple_New(c.n_names);
    if (!columns) goto done;
    for (Py_ssize_t k = 0; k < c.n_names; k++) {
        PyObject *column = Py_BuildValue("(NNNN)", bytes_of(&c.offsets[k]), bytes_of(&c.data[k]),
                                         bytes_of(&c.present[k]), bytes_of(&c.special[k]));
        if (!column) { Py_DECREF(columns); goto done; }
        PyTuple_SET_ITEM(columns, k, column);
    }
    result = Py_BuildValue("(nnNNNN)", count, used, bytes_of(&starts), bytes_of(&kinds),
                           bytes_of(&ids), columns);
    goto done;
nomemory:
    PyErr_NoMemory();
done:
    for (Py_ssize_t k = 0; c.data && k < c.n_names; k++) {
        PyMem_RawFree(c.data[k].data);
        PyMem_RawFree(c.offsets[k].data);
        PyMem_RawFree(c.present[k].data);
        PyMem_RawFree(c.special[k].data);
    }
    PyMem_RawFree(c.names);
    PyMem_RawFree(c.name_lengths);
    PyMem_RawFree(c.data);
    PyMem_RawFree(c.offsets);
    PyMem_RawFree(c.present);
    PyMem_RawFree(c.special);
    PyMem_RawFree(c.seen);
    PyMem_RawFree(starts.data);
    PyMem_RawFree(kinds.data);
    PyMem_RawFree(ids.data);
    PyMem_RawFree(element_names);
    PyMem_RawFree(element_lengths);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"tokenize", tokenize, METH_VARARGS, "Tags and wanted attribute values of an XML buffer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_xmltok", NULL, -1, methods};

PyMODINIT_FUNC PyInit__xmltok(void) { return PyModule_Create(&module); }
