/* `kubec up` and `kubec down` (see up.c). */
#ifndef KUBEC_CMD_UP_H
#define KUBEC_CMD_UP_H

int kc_up_main(int argc, char **argv);
int kc_down_main(int argc, char **argv);

#endif
