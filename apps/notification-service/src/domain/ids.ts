import { type IdFormat, uuidIdFormat } from '@trellis/platform/errors';

// What each id of the notification API looks like: a malformed one is INVALID_ARGUMENT naming the
// field, as in every Trellis service; only a well-formed id that names nothing is NOT_FOUND.
export const CONTACT_ID = uuidIdFormat('contact');
export const NOTIFICATION_ID = uuidIdFormat('notification');
export const CAMPAIGN_ID = uuidIdFormat('campaign');
/** Chosen by the caller at CreateTemplate (or `tpl-` and 8 hex digits when left empty). */
export const TEMPLATE_ID: IdFormat = {
  noun: 'template',
  pattern: /^[a-z][a-z0-9.-]{0,62}$/,
  shape: '1-63 characters of [a-z0-9.-] starting with a letter',
};
