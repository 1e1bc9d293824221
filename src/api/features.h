/*
 * features.h - the wiring of libhmm's features to the core's hooks.
 */
#ifndef HMM_FEATURES_H
#define HMM_FEATURES_H

/* Run when libhmm is loaded (a constructor of interpose.c's): loads the
 * libraries the leak report and the heap profile need when either is on,
 * turning them off (with a warning, and their hooks with them) when it
 * cannot. */
void hmm_features_start(void);

#endif
