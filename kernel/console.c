// The kernel console: serial output, under a lock so lines from interrupt handlers do not tear.
#include "arch/x86_64/serial.h"
#include "kernel/printf.h"
#include "kernel/spinlock.h"

static struct spinlock console_lock = SPINLOCK_INIT("console");

void console_write(const char *s, size_t len) {
    // A panic while the console is held must still print: skip the lock if it is ours already.
    if (spin_lock_held(&console_lock)) {
        serial_write(s, len);
        return;
    }
    irqstate_t st = spin_lock_irqsave(&console_lock);
    serial_write(s, len);
    spin_unlock_irqrestore(&console_lock, st);
}
