// The subset of ELF64 that Jasper loads: static x86-64 executables with PT_LOAD segments.
// Shared by the kernel (which loads userboot) and ulib's launcher (which loads every other
// program). elf_check_header validates everything the loaders rely on.
#ifndef JASPER_ELF_H
#define JASPER_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_PHDRS 16

typedef struct {
    uint8_t ident[16];
    uint16_t type;
    uint16_t machine;
    uint32_t version;
    uint64_t entry;
    uint64_t phoff;
    uint64_t shoff;
    uint32_t flags;
    uint16_t ehsize;
    uint16_t phentsize;
    uint16_t phnum;
    uint16_t shentsize;
    uint16_t shnum;
    uint16_t shstrndx;
} elf64_ehdr_t;

typedef struct {
    uint32_t type;
    uint32_t flags;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
} elf64_phdr_t;

// Section headers and symbols: what the crash reporter (userboot) reads to name addresses.
typedef struct {
    uint32_t name;
    uint32_t type;
    uint64_t flags;
    uint64_t addr;
    uint64_t offset;
    uint64_t size;
    uint32_t link;  // for a symbol table: its string table's section index
    uint32_t info;
    uint64_t addralign;
    uint64_t entsize;
} elf64_shdr_t;

typedef struct {
    uint32_t name;  // offset in the string table
    uint8_t info;   // type in the low 4 bits
    uint8_t other;
    uint16_t shndx;
    uint64_t value;
    uint64_t size;
} elf64_sym_t;

#define ELF_SHT_SYMTAB 2u
#define ELF_STT_FUNC 2u

#define ELF_PT_LOAD 1u
#define ELF_PF_X 1u
#define ELF_PF_W 2u
#define ELF_PF_R 4u
#define ELF_ET_EXEC 2u
#define ELF_EM_X86_64 62u

// True if `eh` (the first bytes of a file of `file_size` bytes) is a 64-bit little-endian x86-64
// executable whose program headers lie inside the file and number at most ELF_MAX_PHDRS.
static inline bool elf_check_header(const elf64_ehdr_t *eh, uint64_t file_size) {
    return file_size >= sizeof(*eh) && eh->ident[0] == 0x7f && eh->ident[1] == 'E' &&
           eh->ident[2] == 'L' && eh->ident[3] == 'F' && eh->ident[4] == 2 /* 64-bit */ &&
           eh->ident[5] == 1 /* little-endian */ && eh->type == ELF_ET_EXEC &&
           eh->machine == ELF_EM_X86_64 && eh->phentsize == sizeof(elf64_phdr_t) &&
           eh->phnum > 0 && eh->phnum <= ELF_MAX_PHDRS && eh->phoff < file_size &&
           eh->phnum * sizeof(elf64_phdr_t) <= file_size - eh->phoff;
}

// True if a PT_LOAD segment is loadable: file bytes inside the file, memsz >= filesz, offset and
// address congruent modulo the page size, and no wrap-around.
static inline bool elf_check_load_segment(const elf64_phdr_t *ph, uint64_t file_size) {
    return ph->offset <= file_size && ph->filesz <= file_size - ph->offset &&
           ph->memsz >= ph->filesz && ph->vaddr + ph->memsz >= ph->vaddr &&
           (ph->offset & 0xfff) == (ph->vaddr & 0xfff);
}

#endif  // JASPER_ELF_H
