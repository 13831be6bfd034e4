#include "capread.h"

#include "cap.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CAP elements nest at most five deep (alert, info, area, geocode, value). */
#define DEPTH_MAX 8

/* Reads at most CAPREAD_MAX_BYTES + 1 bytes, so that an oversized file is detected. */
static char *read_all(const char *path, size_t *len, char *err, size_t err_size)
{
    FILE *file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf;

    if (file == NULL) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(CAPREAD_MAX_BYTES + 1);
    if (buf != NULL) {
        *len = fread(buf, 1, CAPREAD_MAX_BYTES + 1, file);
        if (ferror(file) || *len > CAPREAD_MAX_BYTES) {
            snprintf(err, err_size, ferror(file) ? "cannot read %s" : "%s is larger than "
                                                                      "1 MiB",
                     path);
            free(buf);
            buf = NULL;
        }
    } else {
        snprintf(err, err_size, "out of memory");
    }
    if (file != stdin) {
        fclose(file);
    }
    return buf;
}

static int is_cap(const xmlNode *node)
{
    return node->ns != NULL && xmlStrEqual(node->ns->href, BAD_CAST CAP_NAMESPACE);
}

static int has_child_elements(const xmlNode *node)
{
    for (const xmlNode *child = node->children; child != NULL; child = child->next) {
        if (child->type == XML_ELEMENT_NODE) {
            return 1;
        }
    }
    return 0;
}

/* Returns the text of a leaf element without leading and trailing white space. */
static json_t *trimmed_text(xmlNode *node)
{
    xmlChar *content = xmlNodeGetContent(node);
    const char *start = content != NULL ? (const char *)content : "";
    size_t len;
    json_t *text;

    while (isspace((unsigned char)*start)) {
        start++;
    }
    len = strlen(start);
    while (len > 0 && isspace((unsigned char)start[len - 1])) {
        len--;
    }
    text = json_stringn(start, len);
    xmlFree(content);
    return text;
}

/* Converts the CAP child elements of `node` into an object of arrays. Elements of other
 * namespaces are skipped. */
static json_t *tree_of(xmlNode *node, int depth)
{
    json_t *object = json_object();

    for (xmlNode *child = node->children; child != NULL && object != NULL;
         child = child->next) {
        const char *name = (const char *)child->name;
        json_t *list;
        json_t *value;

        if (child->type != XML_ELEMENT_NODE || !is_cap(child)) {
            continue;
        }
        if (has_child_elements(child)) {
            value = depth < DEPTH_MAX ? tree_of(child, depth + 1) : NULL;
        } else {
            value = trimmed_text(child);
        }
        if (value == NULL) {
            json_decref(object);
            return NULL;
        }
        list = json_object_get(object, name);
        if (list == NULL) {
            list = json_array();
            json_object_set_new(object, name, list);
        }
        json_array_append_new(list, value);
    }
    return object;
}

/* Checks that the document is a CAP 1.2 <alert> without a DOCTYPE. */
static int check_root(const xmlDoc *doc, const xmlNode *root, const char *name, char *err,
                      size_t err_size)
{
    if (doc->intSubset != NULL) {
        snprintf(err, err_size, "%s has a DOCTYPE; CAP documents have none", name);
        return -1;
    }
    if (root == NULL || !xmlStrEqual(root->name, BAD_CAST "alert") || !is_cap(root)) {
        snprintf(err, err_size,
                 "%s is not a CAP 1.2 alert: its root element is <%s> in namespace "
                 "\"%s\", expected <alert> in \"" CAP_NAMESPACE "\"",
                 name, root != NULL ? (const char *)root->name : "",
                 root != NULL && root->ns != NULL ? (const char *)root->ns->href : "");
        return -1;
    }
    return 0;
}

json_t *capread_file(const char *path, char *err, size_t err_size)
{
    const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
    xmlParserCtxtPtr context = NULL;
    xmlDocPtr doc = NULL;
    json_t *tree = NULL;
    size_t len = 0;
    char *buf;

    buf = read_all(path, &len, err, err_size);
    if (buf == NULL) {
        return NULL;
    }
    context = xmlNewParserCtxt();
    if (context == NULL) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    /* No XML_PARSE_NOENT or XML_PARSE_DTDLOAD: entities stay unexpanded and no
     * external DTD is fetched; NONET keeps libxml2 off the network entirely. */
    doc = xmlCtxtReadMemory(context, buf, (int)len, name, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        const xmlError *error = xmlCtxtGetLastError(context);

        snprintf(err, err_size, "%s is not well-formed XML: line %d: %s", name,
                 error != NULL ? error->line : 0,
                 error != NULL && error->message != NULL ? error->message : "parse error");
        /* libxml2 messages end with a newline. */
        err[strcspn(err, "\n")] = '\0';
        goto out;
    }
    if (check_root(doc, xmlDocGetRootElement(doc), name, err, err_size) != 0) {
        goto out;
    }
    tree = tree_of(xmlDocGetRootElement(doc), 1);
    if (tree == NULL) {
        snprintf(err, err_size, "%s nests elements deeper than CAP does", name);
    }

out:
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(context);
    free(buf);
    return tree;
}
