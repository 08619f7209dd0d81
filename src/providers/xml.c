/* The XML scanner behind xml.h: one forward pass over the text, a flat node array, and
 * an explicit "current element" instead of recursion, so hostile input costs at most
 * XML_MAX_DEPTH levels and XML_MAX_NODES nodes. */
#include "xml.h"

#include "balkon/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Tolerant: anything that cannot end a name is part of it (non-ASCII letters included). */
static bool is_name_char(char c)
{
    return !(is_space(c) || c == '/' || c == '>' || c == '<' || c == '=' || c == '"' || c == '\'' ||
             c == '\0' || c == '!' || c == '?' || c == '&');
}

static bool starts(const char *p, const char *end, const char *prefix)
{
    size_t len = strlen(prefix);
    return (size_t)(end - p) >= len && memcmp(p, prefix, len) == 0;
}

/* The first occurrence of needle in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *needle)
{
    size_t len = strlen(needle);
    for (; (size_t)(end - p) >= len; p++)
        if (*p == needle[0] && memcmp(p, needle, len) == 0)
            return p;
    return NULL;
}

struct scan {
    const char *text;
    struct xml_doc *doc;
};

static int fail(struct scan *s, int rc, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct scan *s, int rc, const char *at, const char *fmt, ...)
{
    char why[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(s->doc->error, sizeof s->doc->error, "%s at byte %zu", why, (size_t)(at - s->text));
    free(s->doc->nodes);
    s->doc->nodes = NULL;
    s->doc->count = s->doc->capacity = 0;
    return rc;
}

/* Walks the (already validated) attribute text: calls back with each name and value. */
static bool next_attr(const char **pp, const char *end, const char **name, size_t *name_len,
                      const char **value, size_t *value_len)
{
    const char *p = *pp;
    while (p < end && is_space(*p))
        p++;
    if (p >= end || !is_name_char(*p))
        return false;
    *name = p;
    while (p < end && is_name_char(*p))
        p++;
    *name_len = (size_t)(p - *name);
    while (p < end && (is_space(*p) || *p == '='))
        p++;
    if (p >= end)
        return false;
    char quote = *p++;
    const char *close = memchr(p, quote, (size_t)(end - p));
    if (!close)
        return false;
    *value = p;
    *value_len = (size_t)(close - p);
    *pp = close + 1;
    return true;
}

/* Looks for xmlns (prefix_len 0) or xmlns:prefix among an element's attributes. */
static bool find_ns_decl(const struct xml_node *n, const char *prefix, size_t prefix_len,
                         const char **uri, size_t *uri_len)
{
    const char *p = n->attrs, *end = n->attrs + n->attrs_len;
    const char *name, *value;
    size_t name_len, value_len;
    while (next_attr(&p, end, &name, &name_len, &value, &value_len)) {
        bool match = prefix_len == 0
                         ? name_len == 5 && memcmp(name, "xmlns", 5) == 0
                         : name_len == 6 + prefix_len && memcmp(name, "xmlns:", 6) == 0 &&
                               memcmp(name + 6, prefix, prefix_len) == 0;
        if (match) {
            *uri = value;
            *uri_len = value_len;
            return true;
        }
    }
    return false;
}

static void resolve_ns(struct xml_doc *doc, int index)
{
    struct xml_node *n = &doc->nodes[index];
    const struct xml_node *parent = n->parent >= 0 ? &doc->nodes[n->parent] : NULL;
    n->default_ns = parent ? parent->default_ns : "";
    n->default_ns_len = parent ? parent->default_ns_len : 0;
    find_ns_decl(n, NULL, 0, &n->default_ns, &n->default_ns_len);
    const char *p = n->attrs, *end = n->attrs + n->attrs_len, *name, *value;
    size_t name_len, value_len;
    while (next_attr(&p, end, &name, &name_len, &value, &value_len))
        if (name_len > 6 && memcmp(name, "xmlns:", 6) == 0)
            n->declares_prefix = true;

    const char *colon = memchr(n->qname, ':', n->qname_len);
    if (!colon) {
        n->ns = n->default_ns;
        n->ns_len = n->default_ns_len;
        return;
    }
    size_t prefix_len = (size_t)(colon - n->qname);
    n->ns = "";
    n->ns_len = 0;
    for (int i = index; i >= 0; i = doc->nodes[i].parent) /* depth-bounded */
        if (doc->nodes[i].declares_prefix &&
            find_ns_decl(&doc->nodes[i], n->qname, prefix_len, &n->ns, &n->ns_len))
            break;
}

static int add_node(struct xml_doc *doc)
{
    if (doc->count == doc->capacity) {
        size_t capacity = doc->capacity ? doc->capacity * 2 : 64;
        struct xml_node *grown = realloc(doc->nodes, capacity * sizeof *grown);
        if (!grown)
            return -1;
        doc->nodes = grown;
        doc->capacity = capacity;
    }
    return (int)doc->count++;
}

int xml_parse(const char *text, size_t size, struct xml_doc *doc)
{
    memset(doc, 0, sizeof *doc);
    struct scan s = {.text = text, .doc = doc};
    const char *p = text, *end = text + size;
    int current = -1, depth = 0;
    if (starts(p, end, "\xEF\xBB\xBF"))
        p += 3;
    while (p < end) {
        if (*p != '<') {
            const char *lt = memchr(p, '<', (size_t)(end - p));
            const char *stop = lt ? lt : end;
            if (current < 0)
                for (const char *q = p; q < stop; q++)
                    if (!is_space(*q))
                        return fail(&s, BALKON_E_PARSE, q, "text outside the root element");
            p = stop;
            continue;
        }
        if (starts(p, end, "<!--")) {
            const char *q = find(p + 4, end, "-->");
            if (!q)
                return fail(&s, BALKON_E_PARSE, p, "unterminated comment");
            p = q + 3;
        } else if (starts(p, end, "<![CDATA[")) {
            const char *q = find(p + 9, end, "]]>");
            if (current < 0)
                return fail(&s, BALKON_E_PARSE, p, "CDATA outside the root element");
            if (!q)
                return fail(&s, BALKON_E_PARSE, p, "unterminated CDATA section");
            p = q + 3;
        } else if (starts(p, end, "<?")) {
            const char *q = find(p + 2, end, "?>");
            if (!q)
                return fail(&s, BALKON_E_PARSE, p, "unterminated processing instruction");
            p = q + 2;
        } else if (starts(p, end, "<!")) { /* DOCTYPE: skip, internal subset included */
            if (doc->count > 0)
                return fail(&s, BALKON_E_PARSE, p, "declaration inside the document");
            const char *q = p + 2;
            int brackets = 0;
            while (q < end && !(*q == '>' && brackets == 0)) {
                if (*q == '[')
                    brackets++;
                else if (*q == ']' && brackets > 0)
                    brackets--;
                q++;
            }
            if (q >= end)
                return fail(&s, BALKON_E_PARSE, p, "unterminated declaration");
            p = q + 1;
        } else if (starts(p, end, "</")) {
            const char *name = p + 2, *q = name;
            while (q < end && is_name_char(*q))
                q++;
            size_t len = (size_t)(q - name);
            while (q < end && is_space(*q))
                q++;
            if (q >= end || *q != '>')
                return fail(&s, BALKON_E_PARSE, p, "unterminated end tag");
            if (current < 0)
                return fail(&s, BALKON_E_PARSE, p, "end tag without a start tag");
            struct xml_node *n = &doc->nodes[current];
            if (len != n->qname_len || memcmp(name, n->qname, len) != 0)
                return fail(&s, BALKON_E_PARSE, p, "end tag </%.*s> does not close <%.*s>",
                            (int)(len > 40 ? 40 : len), name,
                            (int)(n->qname_len > 40 ? 40 : n->qname_len), n->qname);
            n->content_len = (size_t)(p - n->content);
            current = n->parent;
            depth--;
            p = q + 1;
        } else { /* a start tag */
            if (current < 0 && doc->count > 0)
                return fail(&s, BALKON_E_PARSE, p, "content after the root element");
            const char *name = p + 1, *q = name;
            while (q < end && is_name_char(*q))
                q++;
            if (q == name)
                return fail(&s, BALKON_E_PARSE, p, "invalid tag");
            const char *attrs = q;
            bool self_closing = false;
            for (;;) {
                while (q < end && is_space(*q))
                    q++;
                if (q >= end)
                    return fail(&s, BALKON_E_PARSE, p, "unterminated start tag");
                if (*q == '>')
                    break;
                if (*q == '/') {
                    if (q + 1 < end && q[1] == '>') {
                        self_closing = true;
                        break;
                    }
                    return fail(&s, BALKON_E_PARSE, q, "invalid start tag");
                }
                const char *attr = q;
                while (q < end && is_name_char(*q))
                    q++;
                if (q == attr)
                    return fail(&s, BALKON_E_PARSE, q, "invalid attribute");
                while (q < end && is_space(*q))
                    q++;
                if (q >= end || *q != '=')
                    return fail(&s, BALKON_E_PARSE, attr, "attribute without a value");
                q++;
                while (q < end && is_space(*q))
                    q++;
                if (q >= end || (*q != '"' && *q != '\''))
                    return fail(&s, BALKON_E_PARSE, attr, "attribute value without quotes");
                const char *close = memchr(q + 1, *q, (size_t)(end - q - 1));
                if (!close)
                    return fail(&s, BALKON_E_PARSE, attr, "unterminated attribute value");
                q = close + 1;
            }
            if (depth >= XML_MAX_DEPTH)
                return fail(&s, BALKON_E_TOOBIG, p, "nesting deeper than %d", XML_MAX_DEPTH);
            if (doc->count >= XML_MAX_NODES)
                return fail(&s, BALKON_E_TOOBIG, p, "more than %d elements", XML_MAX_NODES);
            int index = add_node(doc);
            if (index < 0)
                return fail(&s, BALKON_E_NOMEM, p, "out of memory");
            const char *colon = memchr(name, ':', (size_t)(attrs - name));
            struct xml_node *n = &doc->nodes[index];
            *n = (struct xml_node){
                .name = colon ? colon + 1 : name,
                .name_len = (size_t)(attrs - (colon ? colon + 1 : name)),
                .qname = name,
                .qname_len = (size_t)(attrs - name),
                .attrs = attrs,
                .attrs_len = (size_t)(q - attrs),
                .parent = current,
                .first_child = -1,
                .last_child = -1,
                .next_sibling = -1,
            };
            if (current >= 0) {
                struct xml_node *parent = &doc->nodes[current];
                if (parent->last_child >= 0)
                    doc->nodes[parent->last_child].next_sibling = index;
                else
                    parent->first_child = index;
                parent->last_child = index;
            }
            resolve_ns(doc, index);
            p = q + (self_closing ? 2 : 1);
            doc->nodes[index].content = p;
            if (!self_closing) {
                current = index;
                depth++;
            }
        }
    }
    if (current >= 0) {
        const struct xml_node *n = &doc->nodes[current];
        return fail(&s, BALKON_E_PARSE, end, "<%.*s> not closed (truncated?)",
                    (int)(n->qname_len > 40 ? 40 : n->qname_len), n->qname);
    }
    if (doc->count == 0)
        return fail(&s, BALKON_E_PARSE, end, "no root element");
    return 0;
}

void xml_doc_free(struct xml_doc *doc)
{
    free(doc->nodes);
    doc->nodes = NULL;
    doc->count = doc->capacity = 0;
}

static bool span_equals(const char *span, size_t len, const char *text)
{
    return strlen(text) == len && memcmp(span, text, len) == 0;
}

bool xml_is(const struct xml_doc *doc, int node, const char *ns, const char *name)
{
    if (node < 0 || (size_t)node >= doc->count)
        return false;
    const struct xml_node *n = &doc->nodes[node];
    return span_equals(n->name, n->name_len, name) && (!ns || span_equals(n->ns, n->ns_len, ns));
}

int xml_child(const struct xml_doc *doc, int node, const char *ns, const char *name)
{
    if (node < 0 || (size_t)node >= doc->count)
        return -1;
    int child = doc->nodes[node].first_child;
    if (child < 0 || xml_is(doc, child, ns, name))
        return child;
    return xml_next(doc, child, ns, name);
}

int xml_next(const struct xml_doc *doc, int node, const char *ns, const char *name)
{
    if (node < 0 || (size_t)node >= doc->count)
        return -1;
    for (int i = doc->nodes[node].next_sibling; i >= 0; i = doc->nodes[i].next_sibling)
        if (xml_is(doc, i, ns, name))
            return i;
    return -1;
}

/* Collects output with a virtual length, so callers learn how much was cut. */
struct text_out {
    char *out;
    size_t size;
    size_t len;     /* bytes produced after the leading white space */
    size_t trimmed; /* len up to the last non-space byte */
};

static void put(struct text_out *t, char c)
{
    if (t->len == 0 && is_space(c))
        return; /* leading white space */
    if (t->len + 1 < t->size)
        t->out[t->len] = c;
    t->len++;
    if (!is_space(c))
        t->trimmed = t->len;
}

static void put_code_point(struct text_out *t, unsigned long cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        put(t, '?');
    } else if (cp < 0x80) {
        put(t, (char)cp);
    } else if (cp < 0x800) {
        put(t, (char)(0xC0 | cp >> 6));
        put(t, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        put(t, (char)(0xE0 | cp >> 12));
        put(t, (char)(0x80 | (cp >> 6 & 0x3F)));
        put(t, (char)(0x80 | (cp & 0x3F)));
    } else {
        put(t, (char)(0xF0 | cp >> 18));
        put(t, (char)(0x80 | (cp >> 12 & 0x3F)));
        put(t, (char)(0x80 | (cp >> 6 & 0x3F)));
        put(t, (char)(0x80 | (cp & 0x3F)));
    }
}

/* Decodes the entity at p ('&'); returns the byte after it, or p + 1 after copying a
 * lone '&' that starts no known entity. */
static const char *put_entity(struct text_out *t, const char *p, const char *end)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (starts(p, end, named[i].name)) {
            put(t, named[i].c);
            return p + strlen(named[i].name);
        }
    if (starts(p, end, "&#")) {
        const char *q = p + 2;
        bool hex = q < end && (*q == 'x' || *q == 'X');
        if (hex)
            q++;
        unsigned long cp = 0;
        const char *digits = q;
        while (q < end && q - digits < 8) {
            char c = *q;
            int d = c >= '0' && c <= '9'          ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            if (d < 0)
                break;
            cp = cp * (hex ? 16 : 10) + (unsigned long)d;
            q++;
        }
        if (q > digits && q < end && *q == ';') {
            put_code_point(t, cp);
            return q + 1;
        }
    }
    put(t, '&');
    return p + 1;
}

size_t xml_text(const struct xml_doc *doc, int node, char *out, size_t size)
{
    struct text_out t = {.out = out, .size = size};
    if (node >= 0 && (size_t)node < doc->count) {
        const char *p = doc->nodes[node].content, *end = p + doc->nodes[node].content_len;
        while (p < end) {
            if (starts(p, end, "<![CDATA[")) {
                const char *q = find(p + 9, end, "]]>");
                const char *stop = q ? q : end;
                for (p += 9; p < stop; p++)
                    put(&t, *p);
                p = q ? q + 3 : end;
            } else if (starts(p, end, "<!--")) {
                const char *q = find(p + 4, end, "-->");
                p = q ? q + 3 : end;
            } else if (starts(p, end, "<?")) {
                const char *q = find(p + 2, end, "?>");
                p = q ? q + 2 : end;
            } else if (*p == '<') { /* a child's tag: skip it, minding quoted '>' */
                char quote = 0;
                for (p++; p < end; p++) {
                    if (quote) {
                        if (*p == quote)
                            quote = 0;
                    } else if (*p == '"' || *p == '\'') {
                        quote = *p;
                    } else if (*p == '>') {
                        p++;
                        break;
                    }
                }
            } else if (*p == '&') {
                p = put_entity(&t, p, end);
            } else {
                put(&t, *p++);
            }
        }
    }
    if (size > 0)
        out[t.trimmed < size ? t.trimmed : size - 1] = '\0';
    return t.trimmed;
}
