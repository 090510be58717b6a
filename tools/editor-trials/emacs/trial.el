;;; trial.el --- headless Emacs (eglot) trial of `dfix server'  -*- lexical-binding: t -*-
;; Run by ../run.sh after the elisp block of docs/editor.md was loaded:
;;   emacs --batch -Q -l init.el -l trial.el      (cwd: the trial project)
;; Mode in $DFIX_TRIAL_MODE: quickfix (M-x eglot-code-action-quickfix, the preferred action picked
;; at its prompt) or fixall (the doc's M-x dfix-fix-all).
;; A major mode for Dockerfiles: dockerfile-mode from $DOCKERFILE_MODE_DIR (Debian's
;; elpa-dockerfile-mode, MELPA's dockerfile-mode), else dockerfile-ts-mode when its grammar is there.
;; Also: the hover, the code actions offered, the build command (eglot shows no code lens: the
;; doc's M-x dfix-build-command), and the .dir-locals.el settings (pulled with
;; workspace/configuration) shown as codeDescription.

(require 'eglot)
(require 'flymake)
(require 'cl-lib)

(defvar dfix-trial-mode (or (getenv "DFIX_TRIAL_MODE") "quickfix"))
(defvar dfix-trial-messages nil)

(defun dfix-trial-out (fmt &rest args)
  (princ (concat "TRIAL: " (apply #'format fmt args) "\n") #'external-debugging-output))

(defun dfix-trial-fail (fmt &rest args)
  (dfix-trial-out "FAIL %s" (apply #'format fmt args))
  (kill-emacs 1))

(defun dfix-trial-wait (pred secs)
  "Pump process output until PRED is non-nil or SECS pass; return PRED's value."
  (let ((deadline (+ (float-time) secs)) v)
    (while (and (not (setq v (funcall pred))) (< (float-time) deadline))
      (accept-process-output nil 0.05)
      (when (and (bound-and-true-p flymake-mode) (not (flymake-running-backends)))
        (flymake-start)))
    v))

(defun dfix-trial-diags ()
  (cl-remove-if-not (lambda (d) (eq (flymake-diagnostic-backend d) 'eglot-flymake-backend))
                    (flymake-diagnostics)))

(dfix-trial-out "emacs %s, eglot %s, mode %s" emacs-version
                (or (ignore-errors (package-get-version)) (bound-and-true-p eglot-version)
                    (with-temp-buffer (insert-file-contents (find-library-name "eglot"))
                                      (and (re-search-forward "^;; Version: \\(.*\\)$" nil t)
                                           (match-string 1))))
                dfix-trial-mode)

;; the per-project settings of the doc's .dir-locals.el comment (a concrete URL)
(with-temp-file ".dir-locals.el"
  (insert "((nil . ((eglot-workspace-configuration . (:dfix (:unsafeFixes :json-false :ruleDocsUrl \"https://example.com/dfix/{code}\"))))))\n"))
(setq enable-local-variables :all)

(let ((dir (getenv "DOCKERFILE_MODE_DIR")))
  (if (and dir (file-directory-p dir))
      (progn (add-to-list 'load-path dir) (require 'dockerfile-mode))
    (unless (and (fboundp 'treesit-ready-p) (treesit-ready-p 'dockerfile t))
      (dfix-trial-fail "no Dockerfile mode: set DOCKERFILE_MODE_DIR or install the dockerfile grammar"))))
(advice-add 'eglot--message :before
            (lambda (fmt &rest args) (push (apply #'format fmt args) dfix-trial-messages)))

(find-file "Dockerfile")
(unless (memq major-mode '(dockerfile-mode dockerfile-ts-mode))
  (if (fboundp 'dockerfile-ts-mode) (dockerfile-ts-mode) (dfix-trial-fail "major mode %s" major-mode)))
(dfix-trial-out "buffer %s in %s" (buffer-name) major-mode)

(call-interactively #'eglot)                ; M-x eglot
(unless (eglot-current-server) (dfix-trial-fail "eglot started no server"))
(dfix-trial-out "server: %s" (eglot--server-info (eglot-current-server)))

(unless (dfix-trial-wait #'dfix-trial-diags 20) (dfix-trial-fail "no diagnostics within 20 s"))
(dolist (d (dfix-trial-diags))
  (dfix-trial-out "diagnostic line %d: %s" (line-number-at-pos (flymake-diagnostic-beg d))
                  (car (split-string (flymake-diagnostic-text d) "\n"))))
(let* ((d (car (dfix-trial-diags)))
       (lsp (cdr (assoc 'eglot-lsp-diag (flymake-diagnostic-data d)))))
  (dfix-trial-out "codeDescription from .dir-locals.el: %s"
                  (plist-get (plist-get lsp :codeDescription) :href))
  (goto-char (flymake-diagnostic-beg d)))

;; hover
(let ((h (eglot--request (eglot-current-server) :textDocument/hover (eglot--TextDocumentPositionParams))))
  (dfix-trial-out "hover: %s" (car (split-string (plist-get (plist-get h :contents) :value) "\n"))))

;; the actions offered at point (what M-x eglot-code-actions lists)
(let ((bounds (eglot--code-action-bounds)))
  (dolist (a (eglot-code-actions (car bounds) (cadr bounds)))
    (dfix-trial-out "code action: %s | %s" (plist-get a :kind) (plist-get a :title))))

;; the build command: eglot has no code lens; the doc's M-x dfix-build-command
(setq dfix-trial-messages nil)
(call-interactively #'dfix-build-command)
(unless (dfix-trial-wait (lambda () dfix-trial-messages) 5)
  (dfix-trial-fail "dfix.showBuildCommand showed no message"))
(dolist (line (split-string (car dfix-trial-messages) "\n"))
  (dfix-trial-out "command message | %s" line))

;; apply the fix
(let ((tick (buffer-modified-tick)))
  (if (equal dfix-trial-mode "fixall")
      (call-interactively #'dfix-fix-all)       ; the doc's M-x dfix-fix-all
    ;; M-x eglot-code-action-quickfix prompts with the preferred action as its default: take it
    (cl-letf (((symbol-function 'completing-read)
               (lambda (prompt coll &rest _)
                 (dfix-trial-out "prompt: %s" prompt)
                 (car (cl-find-if (lambda (c) (plist-get (cdr c) :isPreferred)) coll)))))
      (let ((last-nonmenu-event ?\r)) ; a keyboard invocation, not a mouse menu
        (call-interactively #'eglot-code-action-quickfix))))
  (unless (dfix-trial-wait (lambda () (/= tick (buffer-modified-tick))) 5)
    (dfix-trial-fail "the code action changed nothing")))
(dfix-trial-out "applied")
(unless (dfix-trial-wait (lambda () (null (dfix-trial-diags))) 10)
  (dfix-trial-fail "diagnostics did not clear: %d" (length (dfix-trial-diags))))
;; let flymake report the post-fix state, then check again
(dfix-trial-wait (lambda () nil) 1)
(when (dfix-trial-diags) (dfix-trial-fail "diagnostics after the fix: %d" (length (dfix-trial-diags))))
(dfix-trial-out "diagnostics after the fix: 0")

(let ((inhibit-message t)) (save-buffer))
(dfix-trial-out "written %s" (buffer-file-name))
(ignore-errors (eglot-shutdown (eglot-current-server)))
(kill-emacs 0)
