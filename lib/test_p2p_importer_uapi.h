/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * Test-only interface of the P2P dma-buf test importer
 * (CONFIG_TEST_P2P_IMPORTER), shared with
 * tools/testing/selftests/p2p.  Not a stable uapi.
 *
 * Every edu device bound to the "p2p_importer" driver (driver_override
 * only) gets a misc device /dev/p2p_importer<N>, listed in
 * /sys/bus/pci/devices/<bdf>/misc/.  Each open file imports at most one
 * dma-buf.  The edu device DMAs between its 4 KiB internal buffer and the
 * imported dma-buf.
 */
#ifndef __TEST_P2P_IMPORTER_UAPI_H
#define __TEST_P2P_IMPORTER_UAPI_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define P2P_IMPORTER_DRIVER_NAME	"p2p_importer"
#define P2P_IMPORTER_EDU_BUF_SIZE	4096

/* Attach with allow_peer2peer = false (exporter must refuse). */
#define P2P_IMPORTER_IMPORT_NO_P2P	_BITUL(0)
/* Attach as a static importer, without move_notify (must be refused). */
#define P2P_IMPORTER_IMPORT_STATIC	_BITUL(1)

/**
 * struct p2p_importer_import - P2P_IMPORTER_IMPORT argument
 * @fd: dma-buf file descriptor (in)
 * @flags: P2P_IMPORTER_IMPORT_* (in)
 * @size: size of the dma-buf (out)
 * @nr_segs: DMA segments of the first mapping (out)
 * @unmap_delay_ms: 0: unmap inside move_notify, as a well behaved importer
 *	does; otherwise unmap that many ms after each move_notify, from a
 *	work item (in), to test the exporter's bounded wait for importers
 *
 * Attaches (dynamic, peer2peer, with move_notify) and maps the dma-buf
 * under its reservation lock.  Fails with the attach or map error, e.g.
 * EOPNOTSUPP, EINVAL (no P2P path) or ENODEV (revoked).  EBUSY if this
 * file already imported a dma-buf.  EINVAL for @unmap_delay_ms above
 * P2P_IMPORTER_MAX_UNMAP_DELAY_MS.
 */
struct p2p_importer_import {
	__s32 fd;
	__u32 flags;
	__u64 size;
	__u32 nr_segs;
	__u32 unmap_delay_ms;
};

#define P2P_IMPORTER_MAX_UNMAP_DELAY_MS	600000

#define P2P_IMPORTER_DMA_TO_DMABUF	1	/* edu buffer -> dma-buf */
#define P2P_IMPORTER_DMA_FROM_DMABUF	2	/* dma-buf -> edu buffer */

/**
 * struct p2p_importer_dma - P2P_IMPORTER_DMA argument
 * @offset: offset in the dma-buf
 * @len: bytes, 1..4096, must not cross a DMA segment
 * @edu_off: offset in the edu buffer, @edu_off + @len <= 4096
 * @dir: P2P_IMPORTER_DMA_*
 * @pad: must be 0
 *
 * Maps the dma-buf again if a move_notify unmapped it (ENODEV while the
 * exporter has it revoked), then runs one edu DMA and waits for it.
 */
struct p2p_importer_dma {
	__u64 offset;
	__u32 len;
	__u32 edu_off;
	__u32 dir;
	__u32 pad;
};

/**
 * struct p2p_importer_status - P2P_IMPORTER_STATUS result
 * @move_notify_count: move_notify calls on this file's attachment
 * @map_count: successful maps
 * @unmap_count: unmaps
 * @size: size of the imported dma-buf, 0 if none
 * @imported: 1 if a dma-buf is imported
 * @mapped: 1 if currently mapped
 * @last_map_error: errno (positive) of the last failed map, or 0
 * @pad: 0
 */
struct p2p_importer_status {
	__u64 move_notify_count;
	__u64 map_count;
	__u64 unmap_count;
	__u64 size;
	__u32 imported;
	__u32 mapped;
	__s32 last_map_error;
	__u32 pad;
};

/**
 * struct p2p_importer_buf - P2P_IMPORTER_BUF_WRITE/READ argument
 * @data: user pointer to @len bytes
 * @edu_off: offset in the edu buffer
 * @len: bytes, @edu_off + @len <= 4096
 *
 * Moves data between user memory and the edu buffer (through a coherent
 * bounce buffer in RAM and an edu DMA).
 */
struct p2p_importer_buf {
	__u64 data;
	__u32 edu_off;
	__u32 len;
};

#define P2P_IMPORTER_MAGIC	0xb7
#define P2P_IMPORTER_IMPORT	_IOWR(P2P_IMPORTER_MAGIC, 0, struct p2p_importer_import)
#define P2P_IMPORTER_RELEASE	_IO(P2P_IMPORTER_MAGIC, 1)
#define P2P_IMPORTER_DMA	_IOW(P2P_IMPORTER_MAGIC, 2, struct p2p_importer_dma)
#define P2P_IMPORTER_STATUS	_IOR(P2P_IMPORTER_MAGIC, 3, struct p2p_importer_status)
#define P2P_IMPORTER_BUF_WRITE	_IOW(P2P_IMPORTER_MAGIC, 4, struct p2p_importer_buf)
#define P2P_IMPORTER_BUF_READ	_IOW(P2P_IMPORTER_MAGIC, 5, struct p2p_importer_buf)

#endif /* __TEST_P2P_IMPORTER_UAPI_H */
