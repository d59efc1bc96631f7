import { describeError, toFormErrors } from './api-errors.js';
import type { Router } from './router.svelte.js';
import type { FormResult } from './user-form.js';

export interface EditorOptions<T, M> {
  /** The form for a record, or the blank form without one. */
  toForm: (record?: T) => M;
  /** The form's field keys, so that the API's field errors land on their fields. */
  fieldKeys: (model: M) => readonly string[];
  /** Shown when the page opens with ?saved=created, where create() leads. */
  created: string;
  router: Router;
}

/**
 * The state and flow that the user, group and folder editors share: the form `model` and its last saved JSON
 * (`dirty` is the difference), loading the record, saving it (create, then open its page; update, then start the
 * form again from the server's answer), and the errors and notice of the last attempt.
 *
 *   const editor = new Editor({ toForm: groupToForm, fieldKeys: groupFieldKeys, created: 'Group created.', router });
 *   onMount(() => void editor.load(() => api.group(name)));            // only when editing
 *   editor.update(formToGroupBody(editor.model, false, editor.record ?? undefined), (body) => api.updateGroup(name, body), 'Saved.');
 *   <input bind:value={editor.model.description} />  <UnsavedChanges dirty={editor.dirty} />
 */
export class Editor<T, M> {
  /** The record as last loaded or saved; null while creating. */
  record = $state.raw<T | null>(null);
  model = $state() as M;
  /** The form as last loaded or saved: anything else is an unsaved change. */
  saved = $state('');
  loading = $state(false);
  loadError = $state<string | null>(null);
  readonly dirty = $derived(!this.loading && this.loadError === null && JSON.stringify(this.model) !== this.saved);
  saving = $state(false);
  /** Message per form field key. */
  errors = $state<Record<string, string>>({});
  /** An error that belongs to no field, shown at the top of the form. */
  general = $state<string | null>(null);
  notice = $state<string | null>(null);
  readonly #options: EditorOptions<T, M>;

  constructor(options: EditorOptions<T, M>) {
    this.#options = options;
    this.model = options.toForm();
    this.saved = JSON.stringify(this.model);
    this.notice = options.router.query.get('saved') === 'created' ? options.created : null;
  }

  async load(fetch: () => Promise<T>): Promise<void> {
    this.loading = true;
    try {
      this.show(await fetch());
      this.loadError = null;
    } catch (caught) {
      this.loadError = describeError(caught);
    } finally {
      this.loading = false;
    }
  }

  /** Starts the form again from `record`, as saved. */
  show(record: T): void {
    this.record = record;
    this.model = this.#options.toForm(record);
    this.saved = JSON.stringify(this.model);
  }

  /** Back to the form as last saved. */
  revert(): void {
    this.model = JSON.parse(this.saved) as M;
    this.errors = {};
    this.general = null;
  }

  /**
   * Shows the form's own errors, or else sends its body; the API's errors go onto the form. Either way the
   * first invalid field gets the focus. Resolves true when `send` succeeded.
   */
  async submit<B>(result: FormResult<B>, send: (body: B) => Promise<void>): Promise<boolean> {
    this.notice = null;
    this.general = null;
    if (!result.ok) {
      this.errors = result.errors;
      focusFirstError();
      return false;
    }
    this.errors = {};
    this.saving = true;
    try {
      await send(result.body);
      return true;
    } catch (caught) {
      const mapped = toFormErrors(caught, this.#options.fieldKeys(this.model));
      this.errors = mapped.fields;
      this.general = mapped.general;
      focusFirstError();
      return false;
    } finally {
      this.saving = false;
    }
  }

  /** Creates the record, then opens its page (a new editor, which shows the `created` notice). */
  async create<B, C>(result: FormResult<B>, send: (body: B) => Promise<C>, pathOf: (created: C) => string): Promise<void> {
    await this.submit(result, async (body) => {
      const created = await send(body);
      this.#options.router.navigate(`${pathOf(created)}?saved=created`, { force: true });
    });
  }

  /** Saves changes and starts the form again from the record the server answers with. */
  async update<B>(result: FormResult<B>, send: (body: B) => Promise<T>, notice: string): Promise<void> {
    await this.submit(result, async (body) => {
      this.show(await send(body));
      this.notice = notice;
    });
  }
}

function focusFirstError() {
  queueMicrotask(() => document.querySelector<HTMLElement>('.editor [aria-invalid="true"]')?.focus());
}
