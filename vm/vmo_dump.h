// Printing a VMO's clone tree: for a person (`vmo KOID` in the serial monitor) and in the dump
// format that scripts/memview turns into Graphviz pictures (docs/memory-pictures.md). Both take
// the tree lock for the whole print; trees of more than VMO_DUMP_MAX_NODES nodes are summarised.
#ifndef VM_VMO_DUMP_H
#define VM_VMO_DUMP_H

struct vmo;

#define VMO_DUMP_MAX_NODES 256

void vmo_print_tree(struct vmo *v);
void vmo_dump_tree(struct vmo *v);
// Identifies v's clone tree (equal for every VMO of one tree).
const void *vmo_tree_id(struct vmo *v);

#endif  // VM_VMO_DUMP_H
