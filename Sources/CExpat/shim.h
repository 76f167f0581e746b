#ifndef CONSULATE_CEXPAT_SHIM_H
#define CONSULATE_CEXPAT_SHIM_H

#include <expat.h>

/// Turns off expat's reparse deferral (expat >= 2.6, CVE-2023-52425 fix), which can hold a complete
/// stanza back until more bytes arrive. Swift cannot test C version macros, so the check lives here.
/// Returns 1 when the switch exists in the installed expat and was applied, 0 otherwise.
static inline int consulate_disable_reparse_deferral(XML_Parser parser) {
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 6)
    return XML_SetReparseDeferralEnabled(parser, XML_FALSE) == XML_TRUE ? 1 : 0;
#else
    (void)parser;
    return 0;
#endif
}

#endif
