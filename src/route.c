/* Topic -> target table binding for the mirror. Handler tables (which code
 * runs for which table and op) are a separate concern and not here yet. */
#include "sluice/route.h"

#include <stdlib.h>
#include <string.h>

void sluice_target_cleanup(sluice_target_t *target)
{
    free(target->schema);
    free(target->table);
    target->schema = NULL;
    target->table = NULL;
}

int sluice_route_target(const sluice_config_t *cfg, const char *topic, sluice_target_t *target,
                        sluice_err_t *err)
{
    const char *explicit = sluice_config_mirror_table(cfg, topic);
    const char *dot;

    target->schema = NULL;
    target->table = NULL;
    if (explicit) {
        dot = strchr(explicit, '.'); /* validated by config: exactly one dot */
        target->schema = strndup(explicit, (size_t)(dot - explicit));
        target->table = strdup(dot + 1);
    } else {
        dot = strrchr(topic, '.');
        if (!dot || !dot[1])
            return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                                  "route: topic \"%s\" is not named <prefix>.<schema>.<table>; map it "
                                  "with mirror.tables {\"%s\": \"schema.table\"}",
                                  topic, topic);
        target->schema = strdup(cfg->mirror_schema);
        target->table = strdup(dot + 1);
    }
    if (!target->schema || !target->table) {
        sluice_target_cleanup(target);
        return sluice_err_set(err, SLUICE_ERR_FATAL, "route: out of memory");
    }
    return 0;
}
