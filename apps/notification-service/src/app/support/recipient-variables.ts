import type { Contact } from '../../domain/contact';

/** `recipient` ({email, name}) for every mail and, when known, `contact` (the directory entry). */
export function recipientVariables(
  email: string,
  contact: Contact | undefined,
): Record<string, unknown> {
  const vars: Record<string, unknown> = { recipient: { email, name: contact?.name ?? '' } };
  if (contact) {
    vars.contact = {
      id: contact.id,
      email: contact.email,
      name: contact.name,
      attributes: contact.attributes,
    };
  }
  return vars;
}
