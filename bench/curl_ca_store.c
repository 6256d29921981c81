/*
 * What a TLS connection costs in libcurl when its CA store is parsed per
 * connection or shared (bench/run.sh castore; bench/README.md, Email).
 *
 * N easy handles in one multi handle connect at once to a local TLS server
 * (openssl s_server with a self-signed certificate, so every verification
 * fails after the store was loaded), with curl's default CA bundle and
 * either curl's default CA directory or none. curl shares the parsed
 * bundle among a multi's connections (CURLOPT_CA_CACHE_TIMEOUT) only when
 * no CA directory is set; Debian's curl sets one by default.
 *
 *     curl_ca_store URL N CAPATH_OFF
 */
#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int
main(int argc, char **argv)
{
	struct rusage ru;
	char line[256];
	CURLM *m;
	FILE *f;
	int n, capath_off, still = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: curl_ca_store URL N CAPATH_OFF\n");
		return 2;
	}
	n = atoi(argv[2]);
	capath_off = atoi(argv[3]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	m = curl_multi_init();
	for (int i = 0; i < n; i++) {
		CURL *e = curl_easy_init();

		curl_easy_setopt(e, CURLOPT_URL, argv[1]);
		curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
		if (capath_off)
			curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
		curl_multi_add_handle(m, e);
	}
	do {
		curl_multi_perform(m, &still);
		curl_multi_poll(m, NULL, 0, 100, NULL);
	} while (still);
	getrusage(RUSAGE_SELF, &ru);
	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			printf("CA directory %-7s %4d connections at once: peak RSS %s",
			       capath_off ? "off," : "default,", n,
			       line + 6 + strspn(line + 6, " \t"));
	fclose(f);
	printf("    CPU %.1f ms per connection\n",
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	        (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) *
	               1000 / n);
	return 0;
}
