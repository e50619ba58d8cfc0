// Ports and async waits: a source-compatible subset of Zircon's <zircon/syscalls/port.h>
// (docs/abi.md §5): packet types, the 48-byte packet and its members, wait_async options.
#ifndef ZIRCON_SYSCALLS_PORT_H
#define ZIRCON_SYSCALLS_PORT_H

#include <zircon/types.h>

// Packet types (zx_port_packet_t.type).
#define ZX_PKT_TYPE_USER ((uint8_t)0x00u)
#define ZX_PKT_TYPE_SIGNAL_ONE ((uint8_t)0x01u)
#define ZX_PKT_TYPE_PAGE_REQUEST ((uint8_t)0x09u)

// zx_object_wait_async options.
#define ZX_WAIT_ASYNC_ONCE ((uint32_t)0u)
#define ZX_WAIT_ASYNC_TIMESTAMP ((uint32_t)1u)
#define ZX_WAIT_ASYNC_EDGE ((uint32_t)2u)
#define ZX_WAIT_ASYNC_BOOT_TIMESTAMP ((uint32_t)4u)  // not supported: INVALID_ARGS

typedef union zx_packet_user {
    uint64_t u64[4];
    uint32_t u32[8];
    uint16_t u16[16];
    uint8_t c8[32];
} zx_packet_user_t;

typedef struct zx_packet_signal {
    zx_signals_t trigger;   // the signals the wait asked for
    zx_signals_t observed;  // every signal up when it fired
    uint64_t count;         // always 1
    zx_time_t timestamp;    // with ZX_WAIT_ASYNC_TIMESTAMP: when it fired; else 0
    uint64_t reserved1;
} zx_packet_signal_t;

typedef struct zx_packet_page_request {
    uint16_t command;
    uint16_t flags;
    uint32_t reserved0;
    uint64_t offset;
    uint64_t length;
    uint64_t reserved1;
} zx_packet_page_request_t;

typedef struct zx_port_packet {
    uint64_t key;
    uint32_t type;
    zx_status_t status;
    union {
        zx_packet_user_t user;
        zx_packet_signal_t signal;
        zx_packet_page_request_t page_request;
    };
} zx_port_packet_t;

_Static_assert(sizeof(zx_packet_user_t) == 32, "zx_packet_user_t is 32 bytes");
_Static_assert(sizeof(zx_packet_signal_t) == 32, "zx_packet_signal_t is 32 bytes");
_Static_assert(sizeof(zx_packet_page_request_t) == 32, "zx_packet_page_request_t is 32 bytes");
_Static_assert(sizeof(zx_port_packet_t) == 48, "zx_port_packet_t is 48 bytes (docs/abi.md §5)");

#endif  // ZIRCON_SYSCALLS_PORT_H
