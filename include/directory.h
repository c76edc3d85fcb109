#ifndef OVERLEG_DIRECTORY_H
#define OVERLEG_DIRECTORY_H
/* Vocabularies and the consultant directory (directory.c). */
#include "req.h"

void directory_vocabularies(struct req *r);
void directory_list(struct req *r);
void directory_get(struct req *r);
void directory_profile_put(struct req *r);
#endif
