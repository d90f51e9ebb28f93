/*
 * A host's object cache for jitcore's engine and session callbacks
 * (JitcoreEngineSetObjectCache, JitcoreSessionSetObjectCache): objects
 * kept in memory under their module's name, for the life of the process.
 * Callbacks may run on several compile threads at once: one mutex.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "jitcore.h"
#include "subject.h"

typedef struct Entry {
    char *name;
    uint8_t *object;
    size_t len;
    struct Entry *next;
} Entry;

static Entry *entries;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static Entry *find(const char *name)
{
    for (Entry *e = entries; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

void host_cache_notify(void *ctx, JitcoreModuleRef m, const uint8_t *object, size_t len)
{
    (void)ctx;
    const char *name = JitcoreModuleGetName(m);
    pthread_mutex_lock(&lock);
    if (!find(name)) {
        Entry *e = malloc(sizeof *e);
        e->name = strdup(name);
        e->object = malloc(len);
        memcpy(e->object, object, len);
        e->len = len;
        e->next = entries;
        entries = e;
    }
    pthread_mutex_unlock(&lock);
}

JitcoreObjectBufferRef host_cache_get_buffer(void *ctx, JitcoreModuleRef m)
{
    (void)ctx;
    pthread_mutex_lock(&lock);
    Entry *e = find(JitcoreModuleGetName(m));
    JitcoreObjectBufferRef buf = e ? JitcoreCreateObjectBufferCopy(e->object, e->len) : NULL;
    pthread_mutex_unlock(&lock);
    return buf;
}
