/* sluice: the stock worker, with the built-in mirror as its only handler.
 * Everything else lives in the library (sluice_main in src/entry.c). */
#include <stddef.h>

#include "sluice/handler.h"

int main(int argc, char **argv)
{
    return sluice_main(argc, argv, NULL, 0);
}
