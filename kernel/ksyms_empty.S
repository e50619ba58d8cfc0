// The empty symbol table of the first link stage (see meson.build); the final kernel links the
// table scripts/gen-ksyms.py generates from the first stage instead.
    .section .ksyms, "a"
    .balign 8
    .globl ksyms_table, ksyms_count, ksyms_names
ksyms_table:
ksyms_count:
    .quad 0
ksyms_names:
    .byte 0
