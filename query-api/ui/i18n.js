// English and Korean. Korean when the browser asks for it first, until the
// user picks a language (kept in local storage).

const STRINGS = {
  en: {
    'app.title': 'logwarden',
    'nav.search': 'Search', 'nav.alerts': 'Alerts', 'nav.rules': 'Rules', 'nav.compliance': 'Compliance', 'nav.health': 'Pipeline health',
    'login.title': 'Log in with an API key',
    'login.help': 'Use the key the first start printed (demo: demo/data/admin.key) or one made with `logwarden keys create`. It is kept in this tab only and sent as a Bearer token.',
    'login.key': 'API key', 'login.submit': 'Log in', 'logout': 'Log out',
    'theme.dark': 'Dark', 'theme.light': 'Light',
    'search.placeholder': 'sshd AND "Failed password" AND NOT source.ip:10.0.0.1',
    'search.submit': 'Search', 'search.help': 'Syntax', 'search.history': 'History',
    'search.total': '{n} events', 'search.took': '{ms} ms, {splits} splits',
    'search.none': 'No events match in this range.',
    'search.none.hint': 'Widen the time range, remove a filter, or check the query; bare words search the message and the keyword fields.',
    'search.all_time': 'Search all time',
    'search.more': 'Loading more…', 'search.end': 'End of results',
    'search.live': 'Live tail', 'search.live.on': 'Live: newest arrivals first, every 2 s',
    'search.fields': 'Fields', 'search.fields.none': 'Field values appear once a search finds events.',
    'search.include': 'Filter for this value', 'search.exclude': 'Filter out this value',
    'search.original': 'Original line', 'search.all_fields': 'All fields',
    'search.stream': 'Stream', 'search.stream.all': 'all streams',
    'time.range': 'Time range', 'time.from': 'From', 'time.to': 'To', 'time.apply': 'Apply',
    'time.all': 'All time', 'time.custom': 'Custom range', 'time.last': 'Last {d}', 'time.absolute': 'Absolute (RFC 3339, epoch ms or now-15m)',
    'chart.brush': 'Drag across the chart to zoom into a time range.',
    'alerts.none': 'No alerts match. Alerts appear when the detector runs Sigma rules (logwarden run --rules rules/).',
    'alerts.status': 'Status', 'alerts.level': 'Level at least', 'alerts.rule': 'Rule', 'alerts.group': 'Group',
    'alerts.any': 'any', 'alerts.count': 'Events', 'alerts.last_seen': 'Last seen', 'alerts.first_seen': 'First seen',
    'alerts.matched': 'Matched events', 'alerts.history': 'Status history', 'alerts.comment': 'Comment (required)',
    'alerts.acknowledge': 'Acknowledge', 'alerts.close': 'Close', 'alerts.back': 'All alerts',
    'alerts.unresolved': 'not found: {reason}', 'alerts.readonly': 'Your key may read alerts but not change them.',
    'alerts.prev': 'Newer', 'alerts.next': 'Older', 'alerts.search_around': 'Search the group around this alert →',
    'rules.none': 'No rules configured. Give the detector rules with --rules PATH or [detect] rules.',
    'rules.loaded': 'Loaded rules', 'rules.unsupported': 'Unsupported (not loaded)', 'rules.errors': 'Files that do not parse',
    'rules.summary': '{rules} rules from {files} files, generation {generation}', 'rules.stale': 'The rule files changed and did not load: the rules below are the ones loaded before.',
    'rules.alerts': 'Alerts (24 h / all)', 'rules.reason': 'Reason', 'rules.kind': 'Kind', 'rules.logsource': 'Log source',
    'compliance.title': 'Compliance report', 'compliance.overall': 'Overall',
    'compliance.stream': 'Stream', 'compliance.reasons': 'Reasons', 'compliance.presets': 'Presets',
    'compliance.none': 'No streams to report: nothing is stored yet.',
    'compliance.last_verify': 'Last full verify', 'compliance.never': 'never — run logwarden verify --data-dir DATA_DIR',
    'compliance.review': 'Monthly access review', 'compliance.review.missing': 'The monthly access review (개인정보의 안전성 확보조치 기준 제8조②) is shown here once this server provides /api/v1/compliance/review.',
    'compliance.review.findings': 'Findings', 'compliance.review.none': 'No findings in this review.',
    'compliance.review.month': 'Month', 'compliance.review.check': 'Check', 'compliance.review.account': 'Account',
    'compliance.review.summary': '{findings} findings: {pending} pending, {explained} explained, {escalated} escalated',
    'compliance.review.signed': 'Signed off by {by} at {at}', 'compliance.review.comment': '소명 (explanation)',
    'compliance.review.explained': 'Explained', 'compliance.review.escalated': 'Escalate',
    'exports.title': 'Exports', 'exports.none': 'No exports recorded yet. Make one below or with logwarden export; each is recorded in the audit stream.',
    'exports.who': 'Who', 'exports.stream': 'Stream', 'exports.range': 'Range', 'exports.query': 'Query', 'exports.records': 'Records', 'exports.digest': 'Bundle SHA-256',
    'exports.new': 'New export', 'exports.query.hint': 'optional: only matching records, each with its inclusion proof', 'exports.reason': 'Reason',
    'exports.create': 'Export and download', 'exports.downloaded': 'Downloaded {name} (bundle {sha}…); it is recorded in the audit stream.',
    'exports.verify': 'Verify a bundle', 'exports.verify.pick': 'Bundle (.tar)',
    'exports.verify.help': 'The server runs the checks of logwarden verify BUNDLE on a copy and keeps nothing: signature, every file hash, the manifest chain, every record and inclusion proof.',
    'exports.intact': 'Intact: the signature, every file hash, the chain and every record verified.', 'exports.broken': 'Broken. First broken item:',
    'exports.bundle': 'Stream {stream} from {from} to {to}, {records} records',
    'exports.key.pinned': 'Signed by the pinned key {id}', 'exports.key.store': 'Signed by this store\'s key {id} (no key pinned)',
    'exports.key.other': 'Key {id} is not the trusted key {trusted}',
    'exports.check.files': 'Files hashed', 'exports.check.manifests': 'Manifests verified', 'exports.check.splits': 'Splits verified',
    'exports.check.records': 'Records verified', 'exports.check.proven': 'Records proven by inclusion proof', 'exports.check.empty': 'Empty windows',
    'exports.check.deleted': 'Splits deleted by retention',
    'exports.proofs': '{proven} of {size} records proven against manifest seq {seq}', 'exports.proofs.failed': '{n} failed',
    'health.kafka': 'Kafka', 'health.reachable': 'reachable', 'health.unreachable': 'not reachable',
    'health.lag': 'Consumer lag', 'health.partition': 'Partition', 'health.committed': 'Committed', 'health.high': 'End offset', 'health.lag.col': 'Lag',
    'health.dlq': 'Dead letters', 'health.dlq.none': 'topic absent: nothing dead-lettered',
    'health.ingest': 'Ingest rate', 'health.per_second': 'events/s ({window})', 'health.last_1m': 'last minute',
    'health.spool': 'Spools', 'health.seals': 'Seals', 'health.last_seal': 'Last seal', 'health.open_splits': '{n} splits open',
    'health.verify': 'Last full verify', 'health.problems': 'Could not read',
    'health.never': 'never', 'health.no_ingest': 'Nothing indexed in the last few minutes.',
    'error.title': 'Error', 'error.retry': 'Retry', 'loading': 'Loading…', 'forbidden.page': 'Your key ({role}) may not use this page.',
    'field': 'Field', 'value': 'Value', 'count': 'Count', 'time': 'Time', 'message': 'Message', 'yes': 'yes', 'no': 'no',
  },
  ko: {
    'app.title': 'logwarden',
    'nav.search': '검색', 'nav.alerts': '경보', 'nav.rules': '탐지 규칙', 'nav.compliance': '컴플라이언스', 'nav.health': '파이프라인 상태',
    'login.title': 'API 키로 로그인',
    'login.help': '처음 시작할 때 출력된 키(데모: demo/data/admin.key) 또는 `logwarden keys create`로 만든 키를 쓰세요. 키는 이 탭에만 보관되며 Bearer 토큰으로 전송됩니다.',
    'login.key': 'API 키', 'login.submit': '로그인', 'logout': '로그아웃',
    'theme.dark': '어두운 테마', 'theme.light': '밝은 테마',
    'search.placeholder': 'sshd AND "Failed password" AND NOT source.ip:10.0.0.1',
    'search.submit': '검색', 'search.help': '문법', 'search.history': '기록',
    'search.total': '이벤트 {n}건', 'search.took': '{ms} ms, 스플릿 {splits}개',
    'search.none': '이 기간에 일치하는 이벤트가 없습니다.',
    'search.none.hint': '기간을 넓히거나 필터를 빼거나 쿼리를 확인하세요. 따옴표 없는 단어는 메시지와 키워드 필드를 검색합니다.',
    'search.all_time': '전체 기간 검색',
    'search.more': '더 불러오는 중…', 'search.end': '결과 끝',
    'search.live': '실시간 보기', 'search.live.on': '실시간: 새로 들어온 이벤트부터, 2초마다',
    'search.fields': '필드', 'search.fields.none': '검색 결과가 있으면 필드 값이 여기에 나옵니다.',
    'search.include': '이 값으로 거르기', 'search.exclude': '이 값 제외',
    'search.original': '원본 로그', 'search.all_fields': '모든 필드',
    'search.stream': '스트림', 'search.stream.all': '모든 스트림',
    'time.range': '기간', 'time.from': '시작', 'time.to': '끝', 'time.apply': '적용',
    'time.all': '전체 기간', 'time.custom': '직접 지정', 'time.last': '최근 {d}', 'time.absolute': '절대 시간 (RFC 3339, epoch ms 또는 now-15m)',
    'chart.brush': '차트를 드래그하면 그 기간으로 좁혀집니다.',
    'alerts.none': '일치하는 경보가 없습니다. 탐지기가 Sigma 규칙을 실행하면 경보가 생깁니다 (logwarden run --rules rules/).',
    'alerts.status': '상태', 'alerts.level': '최소 수준', 'alerts.rule': '규칙', 'alerts.group': '그룹',
    'alerts.any': '전체', 'alerts.count': '이벤트 수', 'alerts.last_seen': '마지막 발생', 'alerts.first_seen': '처음 발생',
    'alerts.matched': '일치한 이벤트', 'alerts.history': '상태 변경 기록', 'alerts.comment': '의견 (필수)',
    'alerts.acknowledge': '확인', 'alerts.close': '종료', 'alerts.back': '경보 목록',
    'alerts.unresolved': '찾지 못함: {reason}', 'alerts.readonly': '이 키는 경보를 읽을 수 있지만 바꿀 수는 없습니다.',
    'alerts.prev': '최근', 'alerts.next': '이전', 'alerts.search_around': '이 경보 전후의 같은 그룹 이벤트 검색 →',
    'rules.none': '설정된 규칙이 없습니다. --rules PATH 또는 [detect] rules로 탐지기에 규칙을 주세요.',
    'rules.loaded': '적용된 규칙', 'rules.unsupported': '지원하지 않는 규칙 (적용 안 됨)', 'rules.errors': '파싱 실패한 파일',
    'rules.summary': '파일 {files}개에서 규칙 {rules}개, 세대 {generation}', 'rules.stale': '규칙 파일이 바뀌었지만 읽지 못했습니다: 아래는 이전에 적용된 규칙입니다.',
    'rules.alerts': '경보 (24시간 / 전체)', 'rules.reason': '이유', 'rules.kind': '종류', 'rules.logsource': '로그 소스',
    'compliance.title': '컴플라이언스 보고서', 'compliance.overall': '전체',
    'compliance.stream': '스트림', 'compliance.reasons': '사유', 'compliance.presets': '적용 법규',
    'compliance.none': '보고할 스트림이 없습니다: 아직 저장된 것이 없습니다.',
    'compliance.last_verify': '마지막 전체 검증', 'compliance.never': '없음 — logwarden verify --data-dir DATA_DIR 를 실행하세요',
    'compliance.review': '월간 접속기록 점검', 'compliance.review.missing': '월간 접속기록 점검(개인정보의 안전성 확보조치 기준 제8조②)은 이 서버가 /api/v1/compliance/review 를 제공하면 여기에 표시됩니다.',
    'compliance.review.findings': '발견 사항', 'compliance.review.none': '이 점검에는 발견 사항이 없습니다.',
    'compliance.review.month': '점검 월', 'compliance.review.check': '점검 항목', 'compliance.review.account': '계정',
    'compliance.review.summary': '발견 {findings}건: 소명 대기 {pending}, 소명 완료 {explained}, 상향 보고 {escalated}',
    'compliance.review.signed': '{by} 님이 {at}에 점검 완료 서명', 'compliance.review.comment': '소명 내용',
    'compliance.review.explained': '소명 완료', 'compliance.review.escalated': '상향 보고',
    'exports.title': '반출 기록', 'exports.none': '아직 기록된 반출이 없습니다. 아래에서 또는 logwarden export 로 반출하세요. 모든 반출은 감사 스트림에 기록됩니다.',
    'exports.who': '반출자', 'exports.stream': '스트림', 'exports.range': '기간', 'exports.query': '쿼리', 'exports.records': '레코드 수', 'exports.digest': '번들 SHA-256',
    'exports.new': '새 반출', 'exports.query.hint': '선택: 일치하는 레코드만, 각각 포함 증명과 함께', 'exports.reason': '사유',
    'exports.create': '반출하고 내려받기', 'exports.downloaded': '{name} 내려받음 (번들 {sha}…). 감사 스트림에 기록되었습니다.',
    'exports.verify': '번들 검증', 'exports.verify.pick': '번들 (.tar)',
    'exports.verify.help': '서버가 사본에 logwarden verify BUNDLE 과 같은 검사를 하고 아무것도 남기지 않습니다: 서명, 모든 파일 해시, 매니페스트 체인, 모든 레코드와 포함 증명.',
    'exports.intact': '무결: 서명, 모든 파일 해시, 체인과 모든 레코드가 검증되었습니다.', 'exports.broken': '손상됨. 처음 손상된 항목:',
    'exports.bundle': '스트림 {stream}, {from} ~ {to}, 레코드 {records}건',
    'exports.key.pinned': '고정된 키 {id}로 서명됨', 'exports.key.store': '이 저장소의 키 {id}로 서명됨 (고정된 키 없음)',
    'exports.key.other': '키 {id}는 신뢰하는 키 {trusted}가 아닙니다',
    'exports.check.files': '해시 확인한 파일', 'exports.check.manifests': '검증한 매니페스트', 'exports.check.splits': '검증한 스플릿',
    'exports.check.records': '검증한 레코드', 'exports.check.proven': '포함 증명으로 확인한 레코드', 'exports.check.empty': '빈 구간',
    'exports.check.deleted': '보존 기간으로 삭제된 스플릿',
    'exports.proofs': '레코드 {size}건 중 {proven}건을 매니페스트 seq {seq}에 대해 증명', 'exports.proofs.failed': '{n}건 실패',
    'health.kafka': 'Kafka', 'health.reachable': '연결됨', 'health.unreachable': '연결 안 됨',
    'health.lag': '컨슈머 지연', 'health.partition': '파티션', 'health.committed': '커밋된 오프셋', 'health.high': '끝 오프셋', 'health.lag.col': '지연',
    'health.dlq': '처리 실패 메시지', 'health.dlq.none': '토픽 없음: 실패한 메시지 없음',
    'health.ingest': '수집 속도', 'health.per_second': '이벤트/초 ({window})', 'health.last_1m': '최근 1분',
    'health.spool': '스풀', 'health.seals': '봉인', 'health.last_seal': '마지막 봉인', 'health.open_splits': '열린 스플릿 {n}개',
    'health.verify': '마지막 전체 검증', 'health.problems': '읽지 못한 항목',
    'health.never': '없음', 'health.no_ingest': '최근 몇 분 동안 색인된 이벤트가 없습니다.',
    'error.title': '오류', 'error.retry': '다시 시도', 'loading': '불러오는 중…', 'forbidden.page': '이 키({role})로는 이 화면을 쓸 수 없습니다.',
    'field': '필드', 'value': '값', 'count': '건수', 'time': '시간', 'message': '메시지', 'yes': '예', 'no': '아니요',
  },
};

const LANG = 'logwarden.lang';

export function initialLang() {
  const chosen = localStorage.getItem(LANG);
  if (chosen === 'ko' || chosen === 'en') return chosen;
  const first = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  return first.toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

export function saveLang(lang) {
  localStorage.setItem(LANG, lang);
}

let current = 'en';
export function setLang(lang) {
  current = lang;
  document.documentElement.lang = lang;
}
export function lang() { return current; }

/** The text of `key` in the current language, with `{name}` filled in. */
export function t(key, values) {
  const text = (STRINGS[current] && STRINGS[current][key]) || STRINGS.en[key] || key;
  return values ? text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : `{${name}}`)) : text;
}

export function formatNumber(n) {
  return new Intl.NumberFormat(current === 'ko' ? 'ko-KR' : 'en-US').format(n);
}
