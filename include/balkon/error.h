/* Error codes shared by every module.
 *
 * Functions return 0 on success and a negative BALKON_E_* code on failure, as libuv does.
 * Where a caller needs more than the code (which field, which device), the function also
 * fills a caller-provided message buffer or an error list; the code alone never has to
 * carry the context. */
#ifndef BALKON_ERROR_H
#define BALKON_ERROR_H

enum balkon_err {
    BALKON_OK = 0,
    BALKON_E_NOMEM = -1,    /* an allocation failed */
    BALKON_E_INVAL = -2,    /* an argument or input value is invalid */
    BALKON_E_IO = -3,       /* a file, socket or device could not be read or written */
    BALKON_E_NOTFOUND = -4, /* the named thing does not exist */
    BALKON_E_DB = -5,       /* the database refused an operation */
    BALKON_E_PARSE = -6,    /* input is not well-formed (JSON, XML, numbers) */
    BALKON_E_RANGE = -7,    /* a value is outside its allowed range */
    BALKON_E_TOOBIG = -8,   /* input exceeds a size bound */
    BALKON_E_VERSION = -9,  /* a file or schema is from a newer, unknown version */
    BALKON_E_BUSY = -10,    /* the resource is in use; try again later */
};

/* A short English description of a BALKON_E_* code; never NULL. */
const char *balkon_strerror(int err);

#endif
