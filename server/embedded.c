#include "embedded.h"

#include <string.h>

const char *embedded_get(const char *name)
{
    for (const struct embedded_file *f = embedded_files; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f->data;
    return NULL;
}
