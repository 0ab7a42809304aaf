import { requireFields } from '@trellis/platform/errors';
import { validatePreferenceChange } from '../domain/category';
import type { ContactWithPreferences } from '../domain/contact';
import { notFound } from '../domain/errors';
import { CONTACT_ID } from '../domain/ids';
import type { ContactRepository } from './ports/contact.repository.port';
import type { ListSuppressionStore } from './ports/list-suppression.port';
import type { Runtime } from './ports/runtime.port';
import type { DeliverabilityMetrics } from './ports/deliverability-metrics.port';

export interface UpdateContactPreferencesDeps {
  contacts: Pick<ContactRepository, 'findById'>;
  listSuppressions: Pick<ListSuppressionStore, 'suppressForList' | 'removeForList' | 'listsOf'>;
  metrics: Pick<DeliverabilityMetrics, 'unsubscribed'>;
  runtime: Runtime;
}

export interface UpdateContactPreferencesInput {
  contactId: string;
  optOut: string[];
  optIn: string[];
}

/**
 * Opts a contact out of categories and back in, leaving the others as they are. The opt-outs are
 * the same records the one-click unsubscribe writes (keyed by address and category), here with
 * source `directory`; opting out twice or in when not out changes nothing.
 */
export class UpdateContactPreferences {
  constructor(private readonly deps: UpdateContactPreferencesDeps) {}

  async execute(input: UpdateContactPreferencesInput): Promise<ContactWithPreferences> {
    requireFields({ contact_id: [input.contactId, CONTACT_ID] });
    const change = validatePreferenceChange(input);
    const contact = await this.deps.contacts.findById(input.contactId);
    if (!contact) throw notFound('contact', input.contactId);
    const now = this.deps.runtime.now();
    for (const list of change.optOut) {
      const { created } = await this.deps.listSuppressions.suppressForList({
        email: contact.email,
        list,
        source: 'directory',
        createdAt: now,
      });
      if (created) this.deps.metrics.unsubscribed('directory');
    }
    for (const list of change.optIn) {
      await this.deps.listSuppressions.removeForList(contact.email, list);
    }
    const lists = await this.deps.listSuppressions.listsOf([contact.email]);
    return { ...contact, optedOutCategories: lists.get(contact.email) ?? [] };
  }
}
