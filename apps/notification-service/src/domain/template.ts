import { type FieldViolation, requireFields, ValidationError } from '@trellis/platform/errors';
import { categoryViolation, DEFAULT_MARKETING_CATEGORY } from './category';
import { TEMPLATE_ID } from './ids';
import { checkTemplateSyntax } from './template-engine';

/** One version of a template; Handlebars sources. */
export interface Template {
  id: string;
  version: number;
  displayName: string;
  description: string;
  subject: string;
  textBody: string;
  htmlBody: string;
  /** Marketing mail is unsubscribable (List-Unsubscribe); transactional mail is not. */
  marketing: boolean;
  /** The default category of a marketing template's mail; '' for a transactional one. */
  category: string;
  createdAt: Date;
}

export type TemplateContent = Pick<
  Template,
  'displayName' | 'description' | 'subject' | 'textBody' | 'htmlBody'
> &
  Partial<Pick<Template, 'marketing' | 'category'>>;

const MAX_BODY = 1024 * 1024;

export function validateTemplateId(id: string, field = 'template_id'): void {
  requireFields({ [field]: [id, TEMPLATE_ID] });
}

/** Checks lengths, then that every source compiles (TEMPLATE_SYNTAX with line and column). */
export function validateTemplateContent(content: TemplateContent): void {
  const violations: FieldViolation[] = [];
  const name = content.displayName.trim();
  if (name.length < 1 || name.length > 200) {
    violations.push({ field: 'display_name', description: 'is required, 1-200 characters' });
  }
  if (content.description.length > 1024) {
    violations.push({ field: 'description', description: 'must be at most 1024 characters' });
  }
  if (!content.subject.trim()) {
    violations.push({ field: 'subject', description: 'is required' });
  } else if (content.subject.length > 998 || /[\r\n]/.test(content.subject)) {
    violations.push({
      field: 'subject',
      description: 'must be one line of at most 998 characters',
    });
  }
  if (!content.textBody && !content.htmlBody) {
    violations.push({ field: 'text_body', description: 'text_body or html_body is required' });
  }
  for (const field of ['text_body', 'html_body'] as const) {
    const source = field === 'text_body' ? content.textBody : content.htmlBody;
    if (source.length > MAX_BODY) violations.push({ field, description: 'must be at most 1 MiB' });
  }
  const category = content.category?.trim() ?? '';
  if (category && !content.marketing) {
    violations.push({
      field: 'category',
      description:
        'only a marketing template has a category (transactional mail is not unsubscribable)',
    });
  } else if (category) {
    const violation = categoryViolation('category', category);
    if (violation) violations.push(violation);
  }
  if (violations.length > 0) throw new ValidationError(violations);
  checkTemplateSyntax([
    ['subject', content.subject],
    ['text_body', content.textBody],
    ['html_body', content.htmlBody],
  ]);
}

/** Version `version` of template `id` with `content` (display name trimmed). */
export function templateVersion(
  id: string,
  version: number,
  content: TemplateContent,
  now: Date,
): Template {
  return {
    id,
    version,
    displayName: content.displayName.trim(),
    description: content.description,
    subject: content.subject,
    textBody: content.textBody,
    htmlBody: content.htmlBody,
    marketing: content.marketing ?? false,
    category: content.marketing ? content.category?.trim() || DEFAULT_MARKETING_CATEGORY : '',
    createdAt: now,
  };
}
