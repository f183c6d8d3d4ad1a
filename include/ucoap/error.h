/* ucoap: error codes shared by every module of the CoAP core. */
#ifndef UCOAP_ERROR_H
#define UCOAP_ERROR_H

/*
 * Every fallible core function returns 0 on success or one of these
 * negative values. The microCoAPy-compatible calls (ucoap_send() and
 * friends) are the one exception: they return a message id, 0 on failure.
 */
enum ucoap_err {
	UCOAP_OK = 0,
	/* Message format errors (RFC 7252 §3, §4.2, §5.4). */
	UCOAP_ERR_SHORT = -1,          /* shorter than the 4-byte header */
	UCOAP_ERR_VERSION = -2,        /* version is not 1 */
	UCOAP_ERR_TOKEN_LEN = -3,      /* TKL 9..15, or token past the end */
	UCOAP_ERR_OPT_NIBBLE = -4,     /* delta or length nibble 15 in an option */
	UCOAP_ERR_OPT_TRUNCATED = -5,  /* option runs past the end of the datagram */
	UCOAP_ERR_PAYLOAD_MARKER = -6, /* 0xFF with no payload after it */
	UCOAP_ERR_TOO_MANY_OPTS = -7,  /* more than UCOAP_MAX_OPTIONS */
	UCOAP_ERR_OPT_NUMBER = -8,     /* option number above 65535 */
	UCOAP_ERR_EMPTY_NOT_EMPTY = -9,/* code 0.00 with token, options or payload */
	UCOAP_ERR_CODE_CLASS = -10,    /* reserved code class 1, 6 or 7 */
	/* Usage and resource errors. */
	UCOAP_ERR_NOSPACE = -20,       /* caller buffer or table too small */
	UCOAP_ERR_INVAL = -21,         /* bad argument */
	UCOAP_ERR_NOMEM = -22,
	UCOAP_ERR_IO = -23,            /* socket error; errno tells more */
	UCOAP_ERR_AGAIN = -24,         /* nothing to read now */
	UCOAP_ERR_NOENT = -25,         /* option or entry not present */
	UCOAP_ERR_FULL = -26,          /* fixed-size table is full */
	UCOAP_ERR_BAD_OPTION = -27,    /* unrecognised critical option */
	UCOAP_ERR_STATE = -28,         /* call not valid in this state */
	/* How an asynchronous request ended when no response came. */
	UCOAP_ERR_TIMEOUT = -40,
	UCOAP_ERR_RST = -41,           /* the peer answered with Reset */
	UCOAP_ERR_CANCELLED = -42,     /* ucoap_ep_cancel() or endpoint freed */
};

/* A short English description of @err; never NULL, static storage. */
const char *ucoap_strerror(int err);

#endif
