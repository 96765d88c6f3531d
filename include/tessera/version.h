/* Tessera version: the single source of truth (CMake reads it too). */
#ifndef TSR_VERSION_H
#define TSR_VERSION_H

#define TSR_VERSION_MAJOR 0
#define TSR_VERSION_MINOR 1
#define TSR_VERSION_PATCH 0
#define TSR_VERSION_STRING "0.1.0"

#endif
