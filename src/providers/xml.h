/* A small, tolerant XML scanner for provider replies (ENTSO-E), so that no XML library is
 * needed for one document type.
 *
 * xml_parse turns a document into a flat array of element nodes (node 0 is the root) that
 * point into the caller's text; nothing is copied. It understands what real documents
 * contain: an XML declaration, comments, processing instructions, a DOCTYPE, CDATA,
 * attributes in either quote style, namespace declarations (default and prefixed), and the
 * five predefined entities plus character references in text. It does not validate
 * names or expand entities declared in a DTD, and it reports a document as malformed when
 * it is not a single well-nested element: an unclosed or mismatched tag (a truncated
 * body), text or a second element outside the root, an unterminated comment, attribute
 * or CDATA section.
 *
 * Never reads past text + size, never recurses, and bounds the nesting depth and the node
 * count, so it can be fed anything. */
#ifndef BALKON_PROVIDERS_XML_H
#define BALKON_PROVIDERS_XML_H

#include <stdbool.h>
#include <stddef.h>

#define XML_MAX_DEPTH 256
#define XML_MAX_NODES 1000000

struct xml_node {
    const char *name; /* local name (prefix stripped), not NUL-terminated */
    size_t name_len;
    const char *ns; /* namespace URI as written in the document, "" when none */
    size_t ns_len;
    const char *qname; /* name as written, with its prefix */
    size_t qname_len;
    const char *attrs; /* raw attribute text between the name and '>' */
    size_t attrs_len;
    const char *content; /* raw text between the start and the end tag */
    size_t content_len;
    int parent; /* node indexes; -1 when none */
    int first_child;
    int last_child;
    int next_sibling;
    /* Scanner state: the default namespace in scope, and whether this element declares
     * prefixed namespaces (so prefix lookups only visit elements that do). */
    const char *default_ns;
    size_t default_ns_len;
    bool declares_prefix;
};

struct xml_doc {
    struct xml_node *nodes; /* owned; free with xml_doc_free */
    size_t count;
    size_t capacity;
    char error[128]; /* why the document was refused, with a byte offset */
};

/* Scans text[0..size). Returns 0, BALKON_E_PARSE (doc->error says why), BALKON_E_TOOBIG
 * (too deep or too many elements) or BALKON_E_NOMEM. On error doc holds no nodes. The
 * nodes point into text, which must outlive doc. */
int xml_parse(const char *text, size_t size, struct xml_doc *doc);
/* Frees the nodes; accepts a zeroed or already freed doc. */
void xml_doc_free(struct xml_doc *doc);

/* Whether node has local name `name` and (unless ns is NULL) namespace `ns`. */
bool xml_is(const struct xml_doc *doc, int node, const char *ns, const char *name);
/* The first child element of node matching ns/name (as xml_is), or -1. node -1 gives -1. */
int xml_child(const struct xml_doc *doc, int node, const char *ns, const char *name);
/* The next sibling after node matching ns/name, or -1. */
int xml_next(const struct xml_doc *doc, int node, const char *ns, const char *name);
/* The character data of node (markup of any child elements skipped, CDATA included,
 * entities decoded, leading and trailing white space trimmed), NUL-terminated in out
 * (size > 0). Returns the length the full text needs, so a result >= size means it was
 * cut short. node -1 gives "". */
size_t xml_text(const struct xml_doc *doc, int node, char *out, size_t size);

#endif
