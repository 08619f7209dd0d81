/* `balkonsolard password` and `balkonsolard token`: the login's command line, for a
 * first password without the dashboard and for scripts' API tokens. */
#ifndef BALKON_AUTH_CLI_H
#define BALKON_AUTH_CLI_H

/* argv[0] is "password" or "token". Returns the process's exit code. */
int balkon_auth_cli_main(int argc, char **argv);

#endif
