/* ucoap: the core's error codes as text. */
#include <ucoap/error.h>

const char *ucoap_strerror(int err)
{
	switch (err) {
	case UCOAP_OK:
		return "success";
	case UCOAP_ERR_SHORT:
		return "datagram shorter than the CoAP header";
	case UCOAP_ERR_VERSION:
		return "CoAP version is not 1";
	case UCOAP_ERR_TOKEN_LEN:
		return "bad token length";
	case UCOAP_ERR_OPT_NIBBLE:
		return "reserved option delta or length nibble 15";
	case UCOAP_ERR_OPT_TRUNCATED:
		return "option runs past the end of the datagram";
	case UCOAP_ERR_PAYLOAD_MARKER:
		return "payload marker with no payload";
	case UCOAP_ERR_TOO_MANY_OPTS:
		return "too many options";
	case UCOAP_ERR_OPT_NUMBER:
		return "option number above 65535";
	case UCOAP_ERR_EMPTY_NOT_EMPTY:
		return "empty message (0.00) with token, options or payload";
	case UCOAP_ERR_CODE_CLASS:
		return "reserved code class";
	case UCOAP_ERR_NOSPACE:
		return "buffer too small";
	case UCOAP_ERR_INVAL:
		return "invalid argument";
	case UCOAP_ERR_NOMEM:
		return "out of memory";
	case UCOAP_ERR_IO:
		return "I/O error";
	case UCOAP_ERR_AGAIN:
		return "try again";
	case UCOAP_ERR_NOENT:
		return "not found";
	case UCOAP_ERR_FULL:
		return "table full";
	case UCOAP_ERR_BAD_OPTION:
		return "unrecognised critical option";
	case UCOAP_ERR_STATE:
		return "invalid state for this call";
	case UCOAP_ERR_TIMEOUT:
		return "timed out";
	case UCOAP_ERR_RST:
		return "reset by peer";
	case UCOAP_ERR_CANCELLED:
		return "cancelled";
	}
	return "unknown error";
}
