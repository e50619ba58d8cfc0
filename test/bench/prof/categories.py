#!/usr/bin/env python3
"""Turns an insnprof.so profile into instructions per operation, by category and by function.

    categories.py PROFILE OPS SYMBOLS... [--functions N]

PROFILE is the plugin's output ("windows N", then "PC COUNT" lines); OPS the number of operations
the windows covered; SYMBOLS are ELF files (read with nm) or nm-format text files (Linux's
/proc/kallsyms). Each PC is charged to the nearest text symbol at or below it; user-mode PCs (the
lower half) count as "user loop". Categories are matched on function names, Jasper's and Linux's.
"""
import bisect
import collections
import re
import subprocess
import sys

CATEGORIES = [
    ('user loop', r'^user:'),
    # arch_user_copy_nofault*: zx_vmo_write's copy of whole pages from the user buffer (the pager's).
    ('zeroing / copying the page',
     r'^(page_zero|page_copy|clear_page\w*|__memcpy|memcpy|copy_page|arch_user_copy_nofault\w*)$'),
    ('trap entry and exit',
     r'^(arch_page_fault|arch_user_page_fault|page_fault_entry|vm_fault|trap_|process_user_return|vm_aspace_active|error_entry|exc_page_fault|asm_exc|'
     r'sync_regs|irqentry|swapgs|exit_to_user|fpregs_assert|restore_regs|entry_|syscall_)'),
    ('locks',
     r'^(mutex_|wait_queue|spin_|sched_|thread_current|down_read|up_read|_raw_spin|__rcu_read|'
     r'lock_mm_and_find_vma|__cond_resched)'),
    ('page allocation and accounting',
     r'(pmm_alloc|take_free_page|cache_alloc|alloc_pages|get_page_from_freelist|rmqueue|folio|lru|'
     r'memcg|cgroup|lruvec|node_page_state|charge|__list_|rmap|_compound_head|mem_cgroup|memset|'
     r'vma_alloc)'),
    ('page-table walks and updates',
     r'^(vmiter_|map_at_level|pt_|walk_range|flags_to_pte|arch_aspace_|pmm_page_from|vm_page_paddr|'
     r'vm_page_kva|pmd_|pud_|pte_|pfn_pte|p4d_|set_pte|ptep|flush_tlb|native_flush|__flush|pgd_)'),
    # The pager's round trip (thread switches, the packet, the blocked fault): kernel/port.c,
    # kernel/thread.c's scheduler, vm/pager.c, vm/page_source.c.
    ('ports and scheduling',
     r'^(port_|sys_port_|send_packet|packet_release|schedule_locked|make_ready_locked|enqueue_locked|'
     r'dequeue_locked|arch_context_switch|process_switch_hook|wait_locked|thread_|idle_loop)'),
    ('pager requests and supply',
     r'^(pager_|sys_pager_|page_source_|page_request_|request_|vmo_pager_|owned_source|prepare_run|'
     r'first_missing_run|ps_walk)'),
    ('VM look-ups and bookkeeping', r'.'),
]


def load_symbols(paths):
    syms = []
    for path in paths:
        with open(path, 'rb') as f:
            is_elf = f.read(4) == b'\x7fELF'
        if is_elf:
            text = subprocess.run(['nm', '-n', path], capture_output=True, text=True,
                                  check=True).stdout
        else:
            with open(path) as f:
                text = f.read()
        for line in text.splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[1] in 'TtWw':
                syms.append((int(fields[0], 16), fields[2]))
    syms.sort()
    return syms


def main():
    args = sys.argv[1:]
    nfunc = 6
    if '--functions' in args:
        i = args.index('--functions')
        nfunc = int(args[i + 1])
        del args[i:i + 2]
    if len(args) < 3:
        sys.exit(__doc__)
    profile, ops, syms = args[0], int(args[1]), load_symbols(args[2:])
    addrs = [a for a, _ in syms]
    per_fn = collections.Counter()
    with open(profile) as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0] == 'windows':
                continue
            pc, count = int(fields[0], 16), int(fields[1])
            i = bisect.bisect_right(addrs, pc) - 1
            name = syms[i][1] if i >= 0 else '?'
            if pc < 1 << 63:
                name = 'user:' + name
            per_fn[name] += count
    by_cat = collections.Counter()
    members = collections.defaultdict(list)
    for name, count in per_fn.items():
        for label, rx in CATEGORIES:
            if re.search(rx, name):
                by_cat[label] += count
                members[label].append((count, name))
                break
    print(f'total {sum(per_fn.values()) / ops:.0f} per op')
    for label, _ in CATEGORIES:
        top = ', '.join(f'{name.replace("user:", "")} {count / ops:.0f}'
                        for count, name in sorted(members[label], reverse=True)[:nfunc]
                        if count / ops >= 1)
        print(f'  {by_cat[label] / ops:8.0f}  {label}: {top}')


if __name__ == '__main__':
    main()
