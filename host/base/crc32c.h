/*
 * crc32c — CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78),
 * the checksum of iSCSI, ext4 and the journal's records.
 *
 * crc32c(0, "123456789", 9) == 0xE3069283 (the check value of the RFC 3720
 * catalogue). The SSE4.2 instruction is used when the CPU has it (chosen once,
 * at the first call); otherwise a table-driven slice-by-8 loop. Both give the
 * same value for every input (spec/c/test_journal.c compares them).
 */
#ifndef GANTRY_CRC32C_H
#define GANTRY_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over buf (start with 0). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The table-driven version alone (for the test). */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
