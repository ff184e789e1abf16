/* version: the one place the Roost version is written (roost version,
 * the daemon's start-up log line). */
#ifndef ROOST_VERSION_H
#define ROOST_VERSION_H
#define ROOST_VERSION "0.1.0"
#endif
