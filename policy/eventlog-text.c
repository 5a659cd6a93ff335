/* Describing events to people: type names and the event data as one safe printable line. */
#include "eventlog.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
	uint32_t type;
	const char *name;
} type_names[] = {
	{ 0x00000000, "EV_PREBOOT_CERT" },
	{ 0x00000001, "EV_POST_CODE" },
	{ 0x00000002, "EV_UNUSED" },
	{ 0x00000003, "EV_NO_ACTION" },
	{ 0x00000004, "EV_SEPARATOR" },
	{ 0x00000005, "EV_ACTION" },
	{ 0x00000006, "EV_EVENT_TAG" },
	{ 0x00000007, "EV_S_CRTM_CONTENTS" },
	{ 0x00000008, "EV_S_CRTM_VERSION" },
	{ 0x00000009, "EV_CPU_MICROCODE" },
	{ 0x0000000a, "EV_PLATFORM_CONFIG_FLAGS" },
	{ 0x0000000b, "EV_TABLE_OF_DEVICES" },
	{ 0x0000000c, "EV_COMPACT_HASH" },
	{ 0x0000000d, "EV_IPL" },
	{ 0x0000000e, "EV_IPL_PARTITION_DATA" },
	{ 0x0000000f, "EV_NONHOST_CODE" },
	{ 0x00000010, "EV_NONHOST_CONFIG" },
	{ 0x00000011, "EV_NONHOST_INFO" },
	{ 0x00000012, "EV_OMIT_BOOT_DEVICE_EVENTS" },
	{ 0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG" },
	{ 0x80000002, "EV_EFI_VARIABLE_BOOT" },
	{ 0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION" },
	{ 0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER" },
	{ 0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER" },
	{ 0x80000006, "EV_EFI_GPT_EVENT" },
	{ 0x80000007, "EV_EFI_ACTION" },
	{ 0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
	{ 0x80000009, "EV_EFI_HANDOFF_TABLES" },
	{ 0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
	{ 0x8000000b, "EV_EFI_HANDOFF_TABLES2" },
	{ 0x80000010, "EV_EFI_HCRTM_EVENT" },
	{ 0x800000e0, "EV_EFI_VARIABLE_AUTHORITY" },
	/* Intel TXT (ACM) DRTM events; TrenchBoot adds SLAUNCH. */
	{ 0x00000401, "TXT_EVTYPE_PCRMAPPING" },
	{ 0x00000402, "TXT_EVTYPE_HASH_START" },
	{ 0x00000403, "TXT_EVTYPE_COMBINED_HASH" },
	{ 0x00000404, "TXT_EVTYPE_MLE_HASH" },
	{ 0x0000040a, "TXT_EVTYPE_BIOSAC_REG_DATA" },
	{ 0x0000040b, "TXT_EVTYPE_CPU_SCRTM_STAT" },
	{ 0x0000040c, "TXT_EVTYPE_LCP_CONTROL_HASH" },
	{ 0x0000040d, "TXT_EVTYPE_ELEMENTS_HASH" },
	{ 0x0000040e, "TXT_EVTYPE_STM_HASH" },
	{ 0x0000040f, "TXT_EVTYPE_OSSINITDATA_CAP_HASH" },
	{ 0x00000410, "TXT_EVTYPE_SINIT_PUBKEY_HASH" },
	{ 0x00000411, "TXT_EVTYPE_LCP_HASH" },
	{ 0x00000412, "TXT_EVTYPE_LCP_DETAILS_HASH" },
	{ 0x00000413, "TXT_EVTYPE_LCP_AUTHORITIES_HASH" },
	{ 0x00000414, "TXT_EVTYPE_NV_INFO_HASH" },
	{ 0x000004ff, "TXT_EVTYPE_CAP_VALUE" },
	{ EVENT_TYPE_SLAUNCH, "TXT_EVTYPE_SLAUNCH" },
};

const char *eventlog_type_name(uint32_t type)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	return NULL;
}

/* Length of the valid, printable UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), 0 if there is none. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c >= 0x20 && c < 0x7f)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	/* C1 controls (U+0080-U+009F) are not printable either. */
	if (c == 0xc2 && p[1] < 0xa0)
		return 0;
	return len;
}

/* The escaped form of the byte sequence at data[i]: its text in piece, returns its length
 * and sets *ret_n to the number of input bytes it stands for. */
static size_t text_piece(const uint8_t *data, size_t len, size_t i, char piece[5], size_t *ret_n)
{
	size_t n = utf8_len(data + i, len - i);

	if (n == 1 && data[i] == '\\') {
		*ret_n = 1;
		piece[0] = piece[1] = '\\';
		return 2;
	}
	if (n > 0) {
		*ret_n = n;
		memcpy(piece, data + i, n);
		return n;
	}
	*ret_n = 1;
	snprintf(piece, 5, "\\x%02x", data[i]);
	return 4;
}

size_t eventlog_event_text(const struct event *event, char *out, size_t out_size)
{
	static const char ellipsis[] = "...";
	size_t total = 0, o = 0, n, plen;
	char piece[5];
	bool cut;

	if (out_size == 0)
		return 0;
	for (size_t i = 0; i < event->data_len; i += n)
		total += text_piece(event->data, event->data_len, i, piece, &n);
	cut = total >= out_size;
	for (size_t i = 0; i < event->data_len; i += n) {
		plen = text_piece(event->data, event->data_len, i, piece, &n);
		if (cut && o + plen + sizeof(ellipsis) > out_size)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
	}
	if (cut && o + sizeof(ellipsis) <= out_size) {
		memcpy(out + o, ellipsis, sizeof(ellipsis) - 1);
		o += sizeof(ellipsis) - 1;
	}
	out[o] = '\0';
	return o;
}
