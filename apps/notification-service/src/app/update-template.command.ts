import { AbortedError, NotFoundError } from '@trellis/platform/errors';
import {
  type Template,
  type TemplateContent,
  validateTemplateContent,
  validateTemplateId,
} from '../domain/template';
import type { NotificationDeps } from './deps';

export interface UpdateTemplateInput extends TemplateContent {
  templateId: string;
  /** > 0: the latest version must be this one, else ABORTED. */
  expectedVersion: number;
}

/** Stores a new version; earlier versions stay readable and renderable. */
export async function updateTemplate(
  deps: Pick<NotificationDeps, 'templates' | 'clock'>,
  input: UpdateTemplateInput,
): Promise<Template> {
  validateTemplateId(input.templateId);
  validateTemplateContent(input);
  for (;;) {
    const latest = await deps.templates.latest(input.templateId);
    if (!latest) throw new NotFoundError('template', input.templateId);
    if (input.expectedVersion > 0 && input.expectedVersion !== latest.version) {
      throw new AbortedError(
        'TEMPLATE.VERSION_MISMATCH',
        `template ${input.templateId} is at version ${latest.version}, not ${input.expectedVersion}`,
        { template_id: input.templateId, current_version: String(latest.version) },
      );
    }
    const next: Template = {
      id: input.templateId,
      version: latest.version + 1,
      displayName: input.displayName.trim(),
      description: input.description,
      subject: input.subject,
      textBody: input.textBody,
      htmlBody: input.htmlBody,
      createdAt: deps.clock(),
    };
    if (await deps.templates.addVersion(next)) return next;
    // A concurrent update won: re-check the expectation against the new latest.
  }
}
