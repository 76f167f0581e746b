/* The physical limit for Consulate's parser: raw libexpat with namespace processing on and
 * callbacks that only count, fed the same file in the same 64 KiB chunks, configured as
 * XMLStreamParser configures it (reparse deferral off where expat has it). Best of 5 runs.
 * Prints one line for Benchmarks/report.py:
 *   expat-raw bytes=N stanzas=N seconds=S mbps=X stanzas_per_s=Y */
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct counts { long depth; long stanzas; long text; };

static void on_start(void *data, const XML_Char *name, const XML_Char **atts) {
    (void)name; (void)atts;
    ((struct counts *)data)->depth++;
}

static void on_end(void *data, const XML_Char *name) {
    (void)name;
    struct counts *c = data;
    if (--c->depth == 1) c->stanzas++;
}

static void on_text(void *data, const XML_Char *s, int len) {
    (void)s;
    ((struct counts *)data)->text += len;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s stream.xml\n", argv[0]); return 2; }
    FILE *file = fopen(argv[1], "rb");
    if (!file) { perror(argv[1]); return 1; }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *buffer = malloc((size_t)size);
    if (!buffer || fread(buffer, 1, (size_t)size, file) != (size_t)size) { perror("read"); return 1; }
    fclose(file);

    double best = 1e30;
    long stanzas = 0;
    for (int run = 0; run < 5; run++) {
        struct counts counts = {0, 0, 0};
        XML_Parser parser = XML_ParserCreateNS("UTF-8", '\x01');
        XML_SetUserData(parser, &counts);
        XML_SetElementHandler(parser, on_start, on_end);
        XML_SetCharacterDataHandler(parser, on_text);
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 6)
        XML_SetReparseDeferralEnabled(parser, XML_FALSE);
#endif
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (long offset = 0; offset < size; offset += 65536) {
            int length = (int)(size - offset < 65536 ? size - offset : 65536);
            if (XML_Parse(parser, buffer + offset, length, 0) == XML_STATUS_ERROR) {
                fprintf(stderr, "expat: %s\n", XML_ErrorString(XML_GetErrorCode(parser)));
                return 1;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &end);
        XML_ParserFree(parser);
        double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
        if (seconds < best) best = seconds;
        stanzas = counts.stanzas;
    }
    printf("expat-raw bytes=%ld stanzas=%ld seconds=%.4f mbps=%.1f stanzas_per_s=%.0f\n",
           size, stanzas, best, (double)size / best / 1e6, (double)stanzas / best);
    free(buffer);
    return 0;
}
