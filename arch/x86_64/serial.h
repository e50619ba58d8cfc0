// The COM1 serial port: the kernel console.
#ifndef ARCH_X86_64_SERIAL_H
#define ARCH_X86_64_SERIAL_H

#include <stddef.h>

void serial_init(void);
// Writes `len` bytes, turning "\n" into "\r\n".
void serial_write(const char *s, size_t len);
// Returns the next input byte, or -1 if none is waiting.
int serial_try_getc(void);
// Waits for and returns the next input byte.
int serial_getc(void);

#endif  // ARCH_X86_64_SERIAL_H
