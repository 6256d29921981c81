/*
 * XEP-0363 uploads for drivers (upload.c); what drivers call is gw_upload()
 * in driver.h. This is the daemon's side.
 */
#ifndef SG_UPLOAD_H
#define SG_UPLOAD_H

/* Cancels what is still uploading (no callbacks) and forgets the services found. */
void upload_shutdown(void);

#endif
