// COM1 (0x3f8), 115200 8N1, polled. The kernel console writes here; input is read by polling.
#include "arch/x86_64/serial.h"

#include "arch/x86_64/cpu.h"

#define COM1 0x3f8
#define REG_DATA 0
#define REG_IER 1
#define REG_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

void serial_init(void) {
    outb(COM1 + REG_IER, 0x00);  // no interrupts
    outb(COM1 + REG_LCR, 0x80);  // DLAB on
    outb(COM1 + REG_DATA, 0x01); // divisor 1: 115200 baud
    outb(COM1 + REG_IER, 0x00);
    outb(COM1 + REG_LCR, 0x03);  // 8N1, DLAB off
    outb(COM1 + REG_FCR, 0xc7);  // FIFOs on, cleared, 14-byte threshold
    outb(COM1 + REG_MCR, 0x03);  // DTR, RTS
}

static void serial_putc(char c) {
    while (!(inb(COM1 + REG_LSR) & LSR_THR_EMPTY))
        cpu_pause();
    outb(COM1 + REG_DATA, (uint8_t)c);
}

void serial_write(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            serial_putc('\r');
        serial_putc(s[i]);
    }
}

int serial_try_getc(void) {
    if (!(inb(COM1 + REG_LSR) & LSR_DATA_READY))
        return -1;
    return inb(COM1 + REG_DATA);
}

int serial_getc(void) {
    int c;
    while ((c = serial_try_getc()) < 0)
        cpu_pause();
    return c;
}
