#ifndef VK_SERVER_SERVER_ENV_H
#define VK_SERVER_SERVER_ENV_H
/* The environment variables that tune server management (docs/SERVERS.md, Environment variables). */

/* Seconds from environment variable name: a finite number >= 0, or dflt when it is unset or empty.
 * Any other value is warned about (naming the variable and the value) and dflt is used. */
double server_env_seconds(const char *name, double dflt);

#endif
