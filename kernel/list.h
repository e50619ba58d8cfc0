// Intrusive circular doubly-linked lists. A list head is a `struct list_node` whose prev/next point
// at itself when empty. Pure code: used by kernel and host builds.
#ifndef KERNEL_LIST_H
#define KERNEL_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "kernel/compiler.h"

struct list_node {
    struct list_node *prev;
    struct list_node *next;
};

#define LIST_INITIAL(name) {&(name), &(name)}

static inline void list_init(struct list_node *head) {
    head->prev = head;
    head->next = head;
}

static inline bool list_is_empty(const struct list_node *head) {
    return head->next == head;
}

// True if `node` is linked into some list (nodes are cleared to NULL links when removed).
static inline bool list_in_list(const struct list_node *node) {
    return node->next != NULL;
}

static inline void list_insert_after(struct list_node *pos, struct list_node *node) {
    node->prev = pos;
    node->next = pos->next;
    pos->next->prev = node;
    pos->next = node;
}

static inline void list_add_head(struct list_node *head, struct list_node *node) {
    list_insert_after(head, node);
}

static inline void list_add_tail(struct list_node *head, struct list_node *node) {
    list_insert_after(head->prev, node);
}

static inline void list_delete(struct list_node *node) {
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = NULL;
    node->next = NULL;
}

// Removes and returns the first node, or NULL if the list is empty.
static inline struct list_node *list_remove_head(struct list_node *head) {
    if (list_is_empty(head))
        return NULL;
    struct list_node *node = head->next;
    list_delete(node);
    return node;
}

static inline size_t list_length(const struct list_node *head) {
    size_t n = 0;
    for (const struct list_node *it = head->next; it != head; it = it->next)
        n++;
    return n;
}

#define list_for_each(head, it) for (struct list_node *it = (head)->next; it != (head); it = it->next)

#endif  // KERNEL_LIST_H
