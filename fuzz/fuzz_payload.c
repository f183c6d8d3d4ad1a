/*
 * libFuzzer target for the uplink payload translations: CBOR -> JSON
 * (cborjson.c, the libcbor user) and SenML resolution (senml.c), on the
 * same bytes read as CBOR, as SenML CBOR and as SenML JSON. Whatever CBOR
 * converts must come out as JSON that parses again, and every SenML record
 * given out must have a name that is safe as MQTT topic levels.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cborjson.h"
#include "senml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_record(void *user, const struct gw_senml_record *r)
{
	size_t n = strlen(r->name);

	(void)user;
	if (n == 0 || strpbrk(r->name, "+#") || r->name[n - 1] == '/' ||
	    strstr(r->name, "//") || !r->text)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = NULL;
	size_t len = 0;

	if (gw_cbor_to_json(data, size, &json, &len) == 0) {
		cJSON *back = cJSON_Parse(json);

		if (!back || strlen(json) != len)
			abort();
		cJSON_Delete(back);
		free(json);
	}
	gw_senml_resolve(data, size, GW_SENML_CF_CBOR, check_record, NULL,
			 NULL);
	gw_senml_resolve(data, size, GW_SENML_CF_JSON, check_record, NULL,
			 NULL);
	return 0;
}
