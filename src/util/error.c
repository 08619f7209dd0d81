#include "balkon/error.h"

const char *balkon_strerror(int err)
{
    switch (err) {
    case BALKON_OK:
        return "success";
    case BALKON_E_NOMEM:
        return "out of memory";
    case BALKON_E_INVAL:
        return "invalid value";
    case BALKON_E_IO:
        return "input/output error";
    case BALKON_E_NOTFOUND:
        return "not found";
    case BALKON_E_DB:
        return "database error";
    case BALKON_E_PARSE:
        return "malformed input";
    case BALKON_E_RANGE:
        return "value out of range";
    case BALKON_E_TOOBIG:
        return "input too large";
    case BALKON_E_VERSION:
        return "unsupported version";
    case BALKON_E_BUSY:
        return "resource busy";
    }
    return "unknown error";
}
